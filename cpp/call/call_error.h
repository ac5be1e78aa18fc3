// The call.error payload and the error codes of the protocol and of the docker operations.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace alk::call {

/// Error codes. Clients treat unknown codes as INTERNAL, not retryable.
namespace codes {
inline constexpr std::string_view kNotFound = "NOT_FOUND";
inline constexpr std::string_view kForbidden = "FORBIDDEN";
inline constexpr std::string_view kInvalidInput = "INVALID_INPUT";
inline constexpr std::string_view kInvalidOperationType = "INVALID_OPERATION_TYPE";
inline constexpr std::string_view kInternal = "INTERNAL";
inline constexpr std::string_view kTimeout = "TIMEOUT";
inline constexpr std::string_view kContainerNotFound = "CONTAINER_NOT_FOUND";
inline constexpr std::string_view kImageNotFound = "IMAGE_NOT_FOUND";
inline constexpr std::string_view kConflict = "CONFLICT";
inline constexpr std::string_view kDockerError = "DOCKER_ERROR";
inline constexpr std::string_view kDockerUnavailable = "DOCKER_UNAVAILABLE";
}  // namespace codes

/// {"code", "message", "retryable", "details"?}
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's noexcept move only asserts
struct CallError {
  std::string code;
  std::string message;
  bool retryable = false;
  nlohmann::json details;  ///< null means absent

  /// The wire payload; "details" only when present.
  nlohmann::json to_payload() const;
  /// Reads a call.error payload; a malformed one becomes INTERNAL describing what was received.
  static CallError from_payload(const nlohmann::json& payload);

  static CallError make(std::string_view code, std::string message, bool retryable = false);
  /// NOT_FOUND "operation not found: {name}" (name without its leading slash).
  static CallError operation_not_found(std::string_view name);
  /// INVALID_INPUT "{field}: {problem}" with details {"field": field}.
  static CallError invalid_input(std::string_view field, std::string_view problem);
  static CallError internal(std::string message);
};

}  // namespace alk::call

// The alknet call-protocol envelope and its frame encoding: u32 big-endian length + compact JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace alk::wire {

inline constexpr std::string_view kRequested = "call.requested";
inline constexpr std::string_view kResponded = "call.responded";
inline constexpr std::string_view kCompleted = "call.completed";
inline constexpr std::string_view kAborted = "call.aborted";
inline constexpr std::string_view kError = "call.error";

/// Largest frame body accepted or produced (exactly 64 MiB is allowed; 0 is never valid).
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;
/// Size of the length prefix in front of every frame body.
inline constexpr size_t kFramePrefixBytes = 4;

/// One protocol event: {"type", "id", "payload"}.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's noexcept move only asserts
struct Envelope {
  std::string type;
  std::string id;
  nlohmann::json payload;
};

/// Appends one frame for `env` to `out`: the length prefix, then `{"type":…,"id":…,"payload":…}`
/// as compact JSON (payload keys sorted, byte-compatible with alknet-call). Returns false and
/// leaves `out` unchanged when the body would exceed kMaxFrameBytes.
bool append_frame(std::string& out, const Envelope& env);

/// Same as append_frame, with the payload given as already-serialized JSON text (a fast path for
/// hot output events). The caller guarantees `payload_json` is one valid JSON value.
bool append_frame_raw(std::string& out, std::string_view type, std::string_view id,
                      std::string_view payload_json);

/// Same as append_frame_raw for the hot answer, call.responded with payload
/// {"output":output_json}; the caller guarantees `output_json` is one valid JSON value.
bool append_output_frame(std::string& out, std::string_view id, std::string_view output_json);

/// Convenience: the frame for `env` as a new string (empty if it would be too large).
std::string encode_frame(const Envelope& env);

/// Writes `v` as 4 big-endian bytes at `p`.
inline void put_u32_be(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

/// Reads 4 big-endian bytes at `p`.
inline uint32_t get_u32_be(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace alk::wire

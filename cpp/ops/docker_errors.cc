#include "ops/docker_errors.h"

namespace alk::ops {

using call::CallError;
namespace codes = call::codes;

CallError to_call_error(const docker::Error& e, Subject subject) {
  switch (e.kind) {
    case docker::Error::Kind::unavailable:
      return CallError::make(codes::kDockerUnavailable, "docker daemon unavailable: " + e.message,
                             /*retryable=*/true);
    case docker::Error::Kind::timeout:
      return CallError::make(codes::kTimeout, "docker daemon timed out: " + e.message, true);
    case docker::Error::Kind::http:
      break;
    default:
      return CallError::make(codes::kDockerError, e.message);
  }
  std::string_view code = codes::kDockerError;
  const std::string& m = e.message;
  if (e.status == 404) {
    if (m.find("No such image") != std::string::npos ||
        m.find("not found: manifest") != std::string::npos ||
        (subject == Subject::image && m.find("No such container") == std::string::npos)) {
      code = codes::kImageNotFound;
    } else if (m.find("No such container") != std::string::npos || subject == Subject::container) {
      code = codes::kContainerNotFound;
    } else {
      code = codes::kNotFound;
    }
  } else if (e.status == 409) {
    code = codes::kConflict;
  } else if (e.status == 400) {
    code = codes::kInvalidInput;
  }
  CallError out =
      CallError::make(code, m.empty() ? "docker answered " + std::to_string(e.status) : m);
  out.details = {{"status", e.status}, {"message", m}};
  return out;
}

CallError to_call_error(const docker::Response& r, Subject subject) {
  return to_call_error(docker::Error::from_response(r), subject);
}

CallError create_error_for(bool is_operator, CallError e) {
  if (is_operator || e.code != codes::kConflict) return e;
  CallError out = CallError::make(codes::kConflict, "container name already in use");
  out.details = {{"status", 409}};
  return out;
}

}  // namespace alk::ops

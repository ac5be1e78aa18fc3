// Docker client errors as call errors: typed codes, the daemon's message kept.
#pragma once

#include "call/call_error.h"
#include "docker/http_types.h"

namespace alk::ops {

/// What a 404 refers to in the operation that got it.
enum class Subject { none, container, image, exec };

/// Maps `e`: unreachable daemon → DOCKER_UNAVAILABLE (retryable), timeouts → TIMEOUT (retryable),
/// 404 → CONTAINER_NOT_FOUND / IMAGE_NOT_FOUND (from the daemon's message, else `subject`),
/// 409 → CONFLICT, 400 → INVALID_INPUT, others → DOCKER_ERROR. details: {"status", "message"}
/// with the daemon's status and text when it answered.
call::CallError to_call_error(const docker::Error& e, Subject subject = Subject::none);

/// to_call_error for a non-2xx response.
call::CallError to_call_error(const docker::Response& r, Subject subject = Subject::none);

/// A create's error as a non-operator peer may see it: a name conflict ("…is already in use by
/// container <id>…") names another peer's container, so it becomes CONFLICT "container name
/// already in use" without the daemon's text. Operators and other errors pass unchanged.
call::CallError create_error_for(bool is_operator, call::CallError e);

}  // namespace alk::ops

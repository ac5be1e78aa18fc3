// Waiting for a container's exit: POST /containers/{id}/wait as a streamed request. The daemon
// (API ≥ 1.30) flushes the response headers as soon as the wait is registered and sends the body
// only when the condition is met, so the head tells "registered" — what `run` needs before it
// starts the container — and the body carries the exit code, however long that takes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "call/operation.h"
#include "docker/client.h"
#include "ops/services.h"
#include "util/result.h"

namespace alk::ops {

/// The daemon's answer: {"StatusCode": N, "Error": {"Message": "..."}}.
struct WaitOutcome {
  int64_t exit_code = -1;
  std::string error;  ///< the daemon's Error.Message, empty when none
};

struct WaitHandlers {
  /// The daemon registered the wait (response headers arrived). Optional.
  std::function<void()> on_registered;
  /// Exactly once, last: the outcome, or the failure (CONTAINER_NOT_FOUND, DOCKER_UNAVAILABLE, …).
  std::function<void(Result<WaitOutcome, call::CallError>)> done;
};

/// Starts waiting for `path_of_container` ("/containers/<id>", from container_path()) to meet
/// `condition` ("not-running", "next-exit" or "removed"). No callback runs after the returned
/// handle is destroyed; destroying it from inside a callback is allowed. Loop-thread only.
[[nodiscard]] std::unique_ptr<docker::BodyStream> wait_for_container(Services& services,
                                                                     std::string path_of_container,
                                                                     std::string_view condition,
                                                                     WaitHandlers handlers);

/// docker/container/wait: {containerId, condition?} → {"exitCode": N, "error"?: "..."}.
call::OperationSpec wait_op_spec(Services& services);

}  // namespace alk::ops

// Subscriptions whose docker side is one streamed response of JSON values, one per line (events,
// stats): declared as data, like SimpleOp, and run by one generic handler that turns every line
// into a call.responded, pauses the daemon's stream while the sink is not writable, and ends with
// call.completed when the daemon ends the body (call.error on failure).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "call/operation.h"
#include "docker/http_types.h"
#include "ops/docker_errors.h"
#include "ops/services.h"

namespace alk::ops {

struct JsonLinesOp {
  std::string name;
  std::string description;
  nlohmann::json input_schema;
  nlohmann::json output_schema = nlohmann::json::object();
  std::string scope;
  Subject subject = Subject::none;  ///< what a 404 means
  /// Builds the streamed docker request from the validated input; may refuse it with an error.
  std::function<Result<docker::Request, call::CallError>(const call::CallRequest& request)> request;
};

/// The subscription spec that runs `op` with `services`.
call::OperationSpec make_json_lines_op(Services& services, JsonLinesOp op);

}  // namespace alk::ops

// Operations that are one docker request and one answer (inspect, start, list, …): declared as
// data — how to build the request, how to read the response — and run by one generic handler.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "call/operation.h"
#include "docker/http_types.h"
#include "ops/docker_errors.h"
#include "ops/services.h"

namespace alk::ops {

/// Reads a 2xx response into the call's output, or refuses it with an error.
using OutputMapper = std::function<Result<nlohmann::json, call::CallError>(
    const docker::Response& r, const call::CallRequest& request)>;

struct SimpleOp {
  std::string name;
  call::OpKind kind = call::OpKind::query;
  std::string description;
  nlohmann::json input_schema;
  nlohmann::json output_schema = nlohmann::json::object();
  std::string scope;
  Subject subject = Subject::none;  ///< what a 404 means
  /// Builds the docker request from the validated input; may refuse the input with an error.
  std::function<Result<docker::Request, call::CallError>(const call::CallRequest& request)> request;
  /// Default: the response body parsed as JSON (null when empty).
  OutputMapper output;
  /// Statuses besides 2xx that count as success (304 for start/stop of a container already there).
  std::vector<int> also_ok;
};

/// The operation spec that runs `op` with `services`.
call::OperationSpec make_simple_op(Services& services, SimpleOp op);

/// The response body as JSON; null for an empty body; INTERNAL if it does not parse.
Result<nlohmann::json, call::CallError> body_as_json(const docker::Response& r);

}  // namespace alk::ops

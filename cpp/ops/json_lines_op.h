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

/// Splits a byte stream into lines (LF, an optional CR before it dropped; blank lines skipped).
/// A line longer than `max_line` is an error. Loop-thread only, no callbacks.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line = size_t{16} << 20) : max_line_(max_line) {}

  /// Appends bytes; false when a line grew past max_line.
  bool push(std::string_view bytes);
  /// The next complete line, or false when none is buffered. `line` is valid until the next call.
  bool next(std::string_view& line);
  /// At the end of the stream: the unterminated rest as a last line (false if blank).
  bool take_last(std::string_view& line);

 private:
  std::string buf_;
  size_t pos_ = 0;  // start of the first unread byte
  size_t max_line_;
};

}  // namespace alk::ops

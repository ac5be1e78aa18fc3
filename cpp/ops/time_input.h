// Points in time given by a caller (logs since/until, events since/until) in the form the Engine
// API takes: "<unix seconds>[.<nanoseconds>]".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "call/call_error.h"
#include "util/result.h"

namespace alk::ops {

/// JSON Schema of such an input: a number (unix seconds) or a string.
nlohmann::json time_input_schema(std::string_view description);

/// Converts `value` to the daemon's form. Accepted: a number of unix seconds (fractions kept to
/// the nanosecond); a string of unix seconds ("1700000000", "1700000000.5"); an RFC 3339 time
/// ("2024-01-02T03:04:05Z", "…05.123+02:00"); a duration back from `now_unix` ("90s", "10m",
/// "2h", as the docker CLI takes them). Anything else is INVALID_INPUT naming `field`.
Result<std::string, call::CallError> to_docker_time(const nlohmann::json& value,
                                                    std::string_view field, int64_t now_unix);

}  // namespace alk::ops

// `serve --config FILE`: the JSON equivalent of serve's flags, validated with messages that name
// the field.
#pragma once

#include <string>

#include "server/serve_command.h"
#include "util/result.h"

namespace alk::server {

/// Reads `path` into `options` (fields absent from the file keep their value). The file is a JSON
/// object with any of: "listen" (array of addresses, or one string), "cert", "key", "clientCa",
/// "clientAuth" ("require" | "optional"), "dockerHost", "labelPrefix", "peers" (the peers file),
/// "idleTimeoutMs", "keepAliveMs", "maxStreams", "shutdownGraceS", "quiet". Unknown fields are
/// errors (typos must not pass silently). Returns "FILE: FIELD: problem" on the first problem.
Result<bool, std::string> load_serve_config(const std::string& path, ServeOptions& options);

/// Checks options that must hold however they were given (QUIC needs cert, key and client CA;
/// files readable; addresses valid). Returns a message naming the flag/field.
Result<bool, std::string> validate_serve_options(const ServeOptions& options);

}  // namespace alk::server

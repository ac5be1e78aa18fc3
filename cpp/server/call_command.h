// `alknet-docker call`: one call from the command line, its events as JSON lines, or — on the raw
// carriage — the terminal wired to the session.
#pragma once

#include <string>

namespace alk::server {

struct CallCommandOptions {
  std::string address;    ///< unix:///path
  std::string operation;  ///< e.g. docker/container/list
  std::string input = "{}";
  bool raw = false;        ///< "carriage": "raw" (attach, interactive exec)
  std::string auth_token;  ///< optional per-request token
};

/// Runs the call. Returns the exit code: 0 on success (raw: the session's exit code), 1 on
/// call.error (printed as JSON on stderr), 2 on a usage or connection problem.
int run_call(const CallCommandOptions& options);

}  // namespace alk::server

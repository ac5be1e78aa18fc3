// `alknet-docker call`: one call from the command line, its events as JSON lines, or — on the raw
// carriage — the terminal wired to the session.
#pragma once

#include <string>

#include "client/call_client.h"

namespace alk::server {

struct CallCommandOptions {
  std::string address;    ///< unix:///path or quic://host:port
  std::string operation;  ///< e.g. docker/container/list
  std::string input = "{}";
  bool raw = false;              ///< "carriage": "raw" (attach, interactive exec)
  std::string auth_token;        ///< optional per-request token
  client::ClientTlsOptions tls;  ///< quic:// addresses: --ca, --cert, --key, --server-name
};

/// Runs the call. Returns the exit code: the container's exit code when the call reports one (a
/// terminal {"exitCode"} event, or the raw carriage's exit chunk), else 0; 125 on call.error or a
/// broken connection (printed as JSON on stderr); 2 on a usage problem.
int run_call(const CallCommandOptions& options);

}  // namespace alk::server

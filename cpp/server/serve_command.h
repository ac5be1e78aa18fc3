// `alknet-docker serve`: the engine behind unix-socket (and later QUIC) listeners.
#pragma once

#include <string>
#include <vector>

namespace alk::server {

struct ServeOptions {
  std::vector<std::string> listen;  ///< "unix:///path"
  std::string docker_host;          ///< overrides DOCKER_HOST when set
  std::string label_prefix = "alknet";
  double shutdown_grace_s = 10;  ///< in-flight calls get this long after SIGTERM/SIGINT
  /// --peers: the peers file (identity, scopes). With it, unix-socket connections are anonymous
  /// (a request names its peer with auth_token); without it they are the local operator.
  std::string peers_file;
  bool quiet = false;            ///< no per-call log lines
};

/// Runs the server until SIGINT/SIGTERM and a graceful drain. Returns the process exit code.
int run_serve(const ServeOptions& options);

}  // namespace alk::server

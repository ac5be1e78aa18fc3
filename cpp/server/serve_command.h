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
  bool quiet = false;            ///< no per-call log lines
};

/// Runs the server until SIGINT/SIGTERM and a graceful drain. Returns the process exit code.
int run_serve(const ServeOptions& options);

}  // namespace alk::server

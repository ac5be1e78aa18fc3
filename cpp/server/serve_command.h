// `alknet-docker serve`: the engine behind unix-socket and QUIC listeners.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace alk::server {

struct ServeOptions {
  std::vector<std::string> listen;    ///< "unix:///path", "quic://127.0.0.1:4433" (side by side)
  std::string cert;                   ///< QUIC: the server certificate (PEM)
  std::string key;                    ///< QUIC: its private key (PEM)
  std::string client_ca;              ///< QUIC: the CA client certificates must chain to (PEM)
  bool client_cert_optional = false;  ///< QUIC: accept clients without a certificate (anonymous)
  std::string docker_host;            ///< overrides DOCKER_HOST when set
  std::string label_prefix = "alknet";
  double shutdown_grace_s = 10;      ///< in-flight calls get this long after SIGTERM/SIGINT
  uint64_t idle_timeout_ms = 30000;  ///< QUIC: a connection without packets closes after this
  uint64_t keep_alive_ms = 10000;    ///< QUIC: PING interval while calls are open (0: none)
  /// QUIC: calls (bidirectional streams) one connection may have open at once; more wait for
  /// credit. A coordinator following a thousand containers on one connection needs this many.
  uint64_t max_streams = 1024;
  /// --peers: the peers file (identity, scopes). With it, unix-socket connections are anonymous
  /// (a request names its peer with auth_token); without it they are the local operator.
  std::string peers_file;
  bool quiet = false;  ///< no per-call log lines
};

/// Runs the server until SIGINT/SIGTERM and a graceful drain. Returns the process exit code.
int run_serve(const ServeOptions& options);

}  // namespace alk::server

// `serve --peers FILE`: the server's identity layer — the peers file, the access policy, the
// identity of each new stream, and the reload on SIGHUP.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "call/session.h"
#include "identity/peer_directory.h"
#include "ops/engine.h"
#include "util/result.h"

namespace alk::server {

/// Lives as long as the engine. Loop-thread only.
class ServerIdentity {
 public:
  /// Installs the access policy (identity::authorize) on `engine`'s registry. With `peers_file`
  /// (non-empty): loads it, checking scopes against the engine's operations (errors name file,
  /// line and field), applies its labelPrefix to the engine (an error when `label_prefix_flag`
  /// is not the default and differs), and reloads it on SIGHUP. Without one, a SIGHUP is
  /// logged and ignored (it never ends the server). Every SIGHUP is reported to a service manager
  /// as RELOADING=1, then READY=1 once the reload is done (or refused).
  static Result<std::unique_ptr<ServerIdentity>, std::string> create(
      ops::Engine& engine, const std::string& peers_file, const std::string& label_prefix_flag);
  ~ServerIdentity();

  /// Identity of a new unix-socket stream (identity::configure_unix_session).
  void configure_unix(call::SessionEnv& env) const;
  /// Identity of a new QUIC stream (identity::configure_quic_session).
  void configure_quic(call::SessionEnv& env, const std::string& fingerprint) const;

  /// Stops watching SIGHUP (closes the signal handle); from then on the process ignores SIGHUP.
  /// Call before the loop ends.
  void close();

 private:
  ServerIdentity(ops::Engine& engine, std::string peers_file);
  void watch_sighup();
  void reload();

  ops::Engine& engine_;
  std::string peers_file_;
  std::unique_ptr<identity::PeerDirectory> directory_;
  uv_signal_t* sighup_ = nullptr;  // freed by its close callback
};

}  // namespace alk::server

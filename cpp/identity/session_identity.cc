#include "identity/session_identity.h"

namespace alk::identity {

namespace {

void resolve_through(call::SessionEnv& env, const PeerDirectory* directory) {
  env.resolve_token = [directory](const std::string& token, const call::Peer& connection_peer) {
    return directory->resolve(token, connection_peer);
  };
}

}  // namespace

void configure_unix_session(call::SessionEnv& env, const PeerDirectory* directory) {
  if (!directory) {
    env.peer = call::Peer{};  // the local operator
    env.resolve_token = nullptr;
    return;
  }
  env.peer = anonymous_peer();
  resolve_through(env, directory);
}

void configure_quic_session(call::SessionEnv& env, const PeerDirectory* directory,
                            const std::string& fingerprint) {
  if (!directory) return;
  env.peer = fingerprint.empty() ? anonymous_peer() : directory->for_fingerprint(fingerprint);
  resolve_through(env, directory);
}

}  // namespace alk::identity

// Who the calls of a new stream run as, per transport: the identity part of a call::SessionEnv.
#pragma once

#include <string>

#include "call/session.h"
#include "identity/peer_directory.h"

namespace alk::identity {

/// A unix-socket stream. Without a peers file (`directory` null) the socket is the local
/// operator, as before: whoever can open it can use docker anyway. With one, the connection is
/// anonymous and a request's auth_token names its peer.
void configure_unix_session(call::SessionEnv& env, const PeerDirectory* directory);

/// A QUIC stream of a client whose certificate fingerprint is `fingerprint` ("" without a
/// certificate). With a peers file the connection is the peer the fingerprint maps to (looked up
/// per stream, so a reload applies to the next call), or anonymous; an auth_token can replace it
/// per request. Without one, `env.peer` is left as the transport set it.
void configure_quic_session(call::SessionEnv& env, const PeerDirectory* directory,
                            const std::string& fingerprint);

}  // namespace alk::identity

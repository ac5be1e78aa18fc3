// Test certificates for the QUIC transport, made once per test process by scripts/make-certs.sh.
#pragma once

#include <cstdint>
#include <string>

#include "transport/quic/quic_client.h"

namespace alk::test {

/// A directory holding ca.crt, server.{crt,key}, client-a … client-e.{crt,key}, other-ca.crt,
/// other-client.{crt,key} and fingerprints.txt (see scripts/make-certs.sh). Created on first use
/// under /tmp and removed when the process exits.
const std::string& test_certs_dir();

/// The path of `name` (e.g. "client-a.crt") in test_certs_dir().
std::string cert_path(const std::string& name);

/// The peer id (SHA256:<hex>) make-certs.sh recorded for `client` ("client-a", …), or "".
std::string cert_fingerprint(const std::string& client);
/// A QuicClient configuration for a server on 127.0.0.1:`port` with the test CA's server
/// certificate, presenting `client`'s certificate ("client-a", …).
transport::quic::QuicClientConfig loopback_quic_client(uint16_t port, const std::string& client);

}  // namespace alk::test

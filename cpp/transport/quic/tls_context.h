// TLS for the QUIC transport: GnuTLS certificate credentials, the per-connection session setup
// (TLS 1.3 only, ALPN `alknet/call`, mutual authentication) and the peer identity.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace alk::transport::quic {

/// The one ALPN this transport speaks. A ClientHello without it (or without any ALPN) is refused.
inline constexpr std::string_view kAlpn = "alknet/call";

/// What a server presents and how it checks clients.
struct ServerTlsConfig {
  std::string cert_file;  ///< PEM certificate chain
  std::string key_file;   ///< PEM private key
  /// PEM CA certificates client certificates must chain to. Empty: any client certificate is
  /// accepted and only its fingerprint identifies the peer (alknet's model; use with a peers file).
  std::string client_ca_file;
  /// Require a client certificate (the default). When false, a client without one is accepted
  /// and gets an empty peer id.
  bool require_client_cert = true;
};

/// How a client checks the server and what it presents.
struct ClientTlsConfig {
  /// PEM CA certificates the server certificate must chain to; empty: the system trust store.
  std::string ca_file;
  std::string cert_file;  ///< optional client certificate (PEM)
  std::string key_file;   ///< its key (PEM)
  /// Name checked against the server certificate (DNS or IP SAN) and sent as SNI when it is a DNS
  /// name. Empty: the host of the address.
  std::string server_name;
  /// The ALPN offered; empty: the ClientHello carries no ALPN extension at all. Only tests change
  /// it (to check that a wrong or a missing one is refused).
  std::string alpn = std::string(kAlpn);
};

/// Loaded certificate credentials, shared by every connection of a server or client.
class TlsCredentials {
 public:
  /// Loads the server certificate, key and client CA. The message names the file that failed.
  static Result<std::shared_ptr<TlsCredentials>, std::string> for_server(const ServerTlsConfig& c);
  /// Loads the trust list and the optional client certificate.
  static Result<std::shared_ptr<TlsCredentials>, std::string> for_client(const ClientTlsConfig& c);

  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  gnutls_certificate_credentials_t get() const { return cred_; }
  bool is_server() const { return server_; }
  bool require_client_cert() const { return require_client_cert_; }
  bool verify_client_chain() const { return verify_client_chain_; }
  const ClientTlsConfig& client_config() const { return client_; }

 private:
  TlsCredentials() = default;
  gnutls_certificate_credentials_t cred_ = nullptr;
  bool server_ = false;
  bool require_client_cert_ = true;
  bool verify_client_chain_ = false;
  ClientTlsConfig client_;
};

/// Receives the outcome of certificate checks made inside the handshake (the session's owner).
class TlsObserver {
 public:
  virtual ~TlsObserver() = default;
  /// A client certificate (server side) or the server certificate (client side) was rejected.
  virtual void on_certificate_rejected(std::string reason) = 0;
};

/// The session pointer of a QUIC TLS session. ngtcp2's GnuTLS glue reads the session pointer as an
/// ngtcp2_crypto_conn_ref*, so that must be the first member; the observer rides behind it.
struct SessionAnchor {
  ngtcp2_crypto_conn_ref conn_ref{};
  TlsObserver* observer = nullptr;
  std::string verify_name;  ///< client: the name the server certificate must match
};

/// Creates a GnuTLS session for one QUIC connection: TLS 1.3 QUIC priorities, ALPN, credentials,
/// the ngtcp2 crypto hooks, and certificate verification. `anchor` becomes the session pointer and
/// must outlive the session. `host` is the host of the address dialled (client side only).
Result<gnutls_session_t, std::string> make_session(const TlsCredentials& creds,
                                                   SessionAnchor* anchor, std::string_view host);

/// "SHA256:<lowercase hex of sha256(der)>", alknet's peer id for an X.509 certificate.
std::string fingerprint_of_der(const unsigned char* der, size_t len);

/// The peer's leaf certificate fingerprint, or "" when it sent none.
std::string peer_fingerprint(gnutls_session_t session);

/// The negotiated ALPN, or "" when none.
std::string selected_alpn(gnutls_session_t session);

/// A TLS alert's name ("bad_certificate", …) for messages.
std::string alert_name(uint8_t alert);

}  // namespace alk::transport::quic

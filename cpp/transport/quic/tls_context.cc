#include "transport/quic/tls_context.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <cstring>

namespace alk::transport::quic {

namespace {

// TLS 1.3 only, middlebox compatibility off (RFC 9001 §8.4), the AEADs QUIC can use.
constexpr const char* kPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
    "+GROUP-SECP384R1:+GROUP-SECP521R1";

SessionAnchor* anchor_of(gnutls_session_t session) {
  // The first member of SessionAnchor is the ngtcp2_crypto_conn_ref ngtcp2 reads.
  return reinterpret_cast<SessionAnchor*>(gnutls_session_get_ptr(session));
}

void report(gnutls_session_t session, std::string reason) {
  SessionAnchor* a = anchor_of(session);
  if (a && a->observer) a->observer->on_certificate_rejected(std::move(reason));
}

std::string status_text(unsigned status) {
  gnutls_datum_t out{};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0) {
    return "verification failed";
  }
  std::string text(reinterpret_cast<const char*>(out.data), out.size);
  gnutls_free(out.data);
  return text;
}

// Server: a client certificate must chain to the client CA. An empty Certificate message reaches
// this callback too; GnuTLS itself refuses it when certificates are required.
int check_client_chain(gnutls_session_t session) {
  unsigned n = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &n);
  if (!certs || n == 0) return 0;
  unsigned status = 0;
  const int rv = gnutls_certificate_verify_peers2(session, &status);
  if (rv < 0) {
    report(session, std::string("client certificate check failed: ") + gnutls_strerror(rv));
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (status != 0) {
    report(session, "client certificate rejected: " + status_text(status));
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

// Server without a client CA: any certificate is accepted; its fingerprint is the identity.
int accept_any_client(gnutls_session_t) {
  return 0;
}

// Client: the server certificate must chain to the trust list and match the expected name.
int verify_server(gnutls_session_t session) {
  SessionAnchor* a = anchor_of(session);
  const std::string name = a ? a->verify_name : std::string();
  unsigned char ip[16];
  gnutls_typed_vdata_st data[2]{};
  unsigned ndata = 0;
  if (inet_pton(AF_INET, name.c_str(), ip) == 1) {
    data[ndata++] = {GNUTLS_DT_IP_ADDRESS, ip, 4};
  } else if (inet_pton(AF_INET6, name.c_str(), ip) == 1) {
    data[ndata++] = {GNUTLS_DT_IP_ADDRESS, ip, 16};
  } else {
    data[ndata++] = {GNUTLS_DT_DNS_HOSTNAME,
                     reinterpret_cast<unsigned char*>(const_cast<char*>(name.c_str())), 0};
  }
  data[ndata++] = {GNUTLS_DT_KEY_PURPOSE_OID,
                   reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_TLS_WWW_SERVER)),
                   0};
  unsigned status = 0;
  const int rv = gnutls_certificate_verify_peers(session, data, ndata, &status);
  if (rv < 0) {
    report(session, std::string("server certificate check failed: ") + gnutls_strerror(rv));
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (status != 0) {
    report(session, "server certificate for " + name + " rejected: " + status_text(status));
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

// GNUTLS_ALPN_MANDATORY lets a ClientHello without any ALPN through; refuse it here.
int require_alpn(gnutls_session_t session, unsigned, unsigned, unsigned, const gnutls_datum_t*) {
  gnutls_datum_t proto{};
  if (gnutls_alpn_get_selected_protocol(session, &proto) < 0) {
    return GNUTLS_E_NO_APPLICATION_PROTOCOL;
  }
  return 0;
}

std::string load_error(const char* what, const std::string& file, int rv) {
  return std::string("cannot load ") + what + " " + file + ": " + gnutls_strerror(rv);
}

}  // namespace

TlsCredentials::~TlsCredentials() {
  if (cred_) gnutls_certificate_free_credentials(cred_);
}

Result<std::shared_ptr<TlsCredentials>, std::string> TlsCredentials::for_server(
    const ServerTlsConfig& c) {
  if (c.cert_file.empty() || c.key_file.empty()) {
    return unexpected(std::string("a QUIC server needs a certificate and a key"));
  }
  std::shared_ptr<TlsCredentials> t(new TlsCredentials);
  t->server_ = true;
  t->require_client_cert_ = c.require_client_cert;
  int rv = gnutls_certificate_allocate_credentials(&t->cred_);
  if (rv < 0) return unexpected(std::string("gnutls: ") + gnutls_strerror(rv));
  rv = gnutls_certificate_set_x509_key_file(t->cred_, c.cert_file.c_str(), c.key_file.c_str(),
                                            GNUTLS_X509_FMT_PEM);
  if (rv < 0) {
    return unexpected(load_error("certificate/key", c.cert_file + " / " + c.key_file, rv));
  }
  if (!c.client_ca_file.empty()) {
    rv = gnutls_certificate_set_x509_trust_file(t->cred_, c.client_ca_file.c_str(),
                                                GNUTLS_X509_FMT_PEM);
    if (rv < 0) return unexpected(load_error("client CA", c.client_ca_file, rv));
    if (rv == 0) return unexpected("no certificate found in client CA file " + c.client_ca_file);
    t->verify_client_chain_ = true;
    gnutls_certificate_set_verify_function(t->cred_, check_client_chain);
  } else {
    gnutls_certificate_set_verify_function(t->cred_, accept_any_client);
  }
  return t;
}

Result<std::shared_ptr<TlsCredentials>, std::string> TlsCredentials::for_client(
    const ClientTlsConfig& c) {
  std::shared_ptr<TlsCredentials> t(new TlsCredentials);
  t->client_ = c;
  int rv = gnutls_certificate_allocate_credentials(&t->cred_);
  if (rv < 0) return unexpected(std::string("gnutls: ") + gnutls_strerror(rv));
  if (!c.ca_file.empty()) {
    rv = gnutls_certificate_set_x509_trust_file(t->cred_, c.ca_file.c_str(), GNUTLS_X509_FMT_PEM);
    if (rv < 0) return unexpected(load_error("CA", c.ca_file, rv));
    if (rv == 0) return unexpected("no certificate found in CA file " + c.ca_file);
  } else {
    rv = gnutls_certificate_set_x509_system_trust(t->cred_);
    if (rv < 0)
      return unexpected(std::string("cannot load the system trust store: ") + gnutls_strerror(rv));
  }
  if (c.cert_file.empty() != c.key_file.empty()) {
    return unexpected(std::string("a client certificate needs both --cert and --key"));
  }
  if (!c.cert_file.empty()) {
    rv = gnutls_certificate_set_x509_key_file(t->cred_, c.cert_file.c_str(), c.key_file.c_str(),
                                              GNUTLS_X509_FMT_PEM);
    if (rv < 0) {
      return unexpected(load_error("certificate/key", c.cert_file + " / " + c.key_file, rv));
    }
  }
  gnutls_certificate_set_verify_function(t->cred_, verify_server);
  return t;
}

Result<gnutls_session_t, std::string> make_session(const TlsCredentials& creds,
                                                   SessionAnchor* anchor, std::string_view host) {
  gnutls_session_t s = nullptr;
  const unsigned flags =
      (creds.is_server() ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA;
  int rv = gnutls_init(&s, flags);
  if (rv < 0) return unexpected(std::string("gnutls_init: ") + gnutls_strerror(rv));
  auto fail = [&](const char* what) {
    gnutls_deinit(s);
    return unexpected(std::string(what) + ": " + gnutls_strerror(rv));
  };
  if ((rv = gnutls_priority_set_direct(s, kPriority, nullptr)) < 0) return fail("priority");
  rv = creds.is_server() ? ngtcp2_crypto_gnutls_configure_server_session(s)
                         : ngtcp2_crypto_gnutls_configure_client_session(s);
  if (rv != 0) {
    gnutls_deinit(s);
    return unexpected(std::string("ngtcp2_crypto_gnutls_configure_session failed"));
  }
  gnutls_session_set_ptr(s, &anchor->conn_ref);
  if ((rv = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds.get())) < 0) {
    return fail("credentials");
  }
  if (creds.is_server()) {
    gnutls_datum_t proto{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn.data())),
                         static_cast<unsigned>(kAlpn.size())};
    rv = gnutls_alpn_set_protocols(s, &proto, 1,
                                   GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE);
    if (rv < 0) return fail("alpn");
    gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
                                       require_alpn);
    gnutls_certificate_server_set_request(
        s, creds.require_client_cert() ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
    // No CA names in the CertificateRequest: a GnuTLS client whose certificate matches none of
    // them would silently send no certificate and get a misleading certificate_required.
    gnutls_certificate_send_x509_rdn_sequence(s, 1);
  } else {
    const ClientTlsConfig& c = creds.client_config();
    if (!c.alpn.empty()) {
      gnutls_datum_t proto{reinterpret_cast<unsigned char*>(const_cast<char*>(c.alpn.data())),
                           static_cast<unsigned>(c.alpn.size())};
      if ((rv = gnutls_alpn_set_protocols(s, &proto, 1, GNUTLS_ALPN_MANDATORY)) < 0) {
        return fail("alpn");
      }
    }
    anchor->verify_name = c.server_name.empty() ? std::string(host) : c.server_name;
    unsigned char ip[16];
    const bool is_ip = inet_pton(AF_INET, anchor->verify_name.c_str(), ip) == 1 ||
                       inet_pton(AF_INET6, anchor->verify_name.c_str(), ip) == 1;
    if (!is_ip && !anchor->verify_name.empty()) {  // RFC 6066: no literal IPs in SNI
      rv = gnutls_server_name_set(s, GNUTLS_NAME_DNS, anchor->verify_name.data(),
                                  anchor->verify_name.size());
      if (rv < 0) return fail("server name");
    }
  }
  return s;
}

std::string fingerprint_of_der(const unsigned char* der, size_t len) {
  unsigned char md[32];
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, md) < 0) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "SHA256:";
  out.reserve(7 + 64);
  for (unsigned char b : md) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string peer_fingerprint(gnutls_session_t session) {
  unsigned n = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &n);
  if (!certs || n == 0) return "";
  return fingerprint_of_der(certs[0].data, certs[0].size);
}

std::string selected_alpn(gnutls_session_t session) {
  gnutls_datum_t proto{};
  if (gnutls_alpn_get_selected_protocol(session, &proto) < 0) return "";
  return std::string(reinterpret_cast<const char*>(proto.data), proto.size);
}

std::string alert_name(uint8_t alert) {
  switch (alert) {
    case 40:
      return "handshake_failure";
    case 42:
      return "bad_certificate";
    case 43:
      return "unsupported_certificate";
    case 44:
      return "certificate_revoked";
    case 45:
      return "certificate_expired";
    case 46:
      return "certificate_unknown";
    case 48:
      return "unknown_ca";
    case 70:
      return "protocol_version";
    case 80:
      return "internal_error";
    case 109:
      return "missing_extension";
    case 116:
      return "certificate_required";
    case 120:
      return "no_application_protocol";
    default: {
      const char* n = gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
      return n ? n : "alert " + std::to_string(alert);
    }
  }
}

}  // namespace alk::transport::quic

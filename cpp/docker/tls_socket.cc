#include "docker/tls_socket.h"

#include <arpa/inet.h>
#include <gnutls/x509.h>

#include <cerrno>
#include <cstring>

namespace alk::docker::detail {

namespace {

std::string gnutls_message(const char* what, int rc) {
  std::string m = what;
  m += ": ";
  m += gnutls_strerror(rc);
  return m;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<std::shared_ptr<TlsContext>, std::string> TlsContext::load(const Endpoint& ep) {
  std::shared_ptr<TlsContext> ctx(new TlsContext());
  int rc = gnutls_certificate_allocate_credentials(&ctx->cred_);
  if (rc < 0) return unexpected(gnutls_message("TLS credentials", rc));
  ctx->verify_ = ep.tls_verify;
  if (ep.tls_verify) {
    rc = ep.ca_file.empty() ? gnutls_certificate_set_x509_system_trust(ctx->cred_)
                            : gnutls_certificate_set_x509_trust_file(ctx->cred_, ep.ca_file.c_str(),
                                                                     GNUTLS_X509_FMT_PEM);
    // Both return the number of certificates loaded; none is as bad as an error.
    if (rc <= 0) {
      return unexpected(gnutls_message(
          ("TLS CA " + (ep.ca_file.empty() ? std::string("(system trust)") : ep.ca_file)).c_str(),
          rc == 0 ? GNUTLS_E_NO_CERTIFICATE_FOUND : rc));
    }
  }
  if (!ep.cert_file.empty() || !ep.key_file.empty()) {
    rc = gnutls_certificate_set_x509_key_file(ctx->cred_, ep.cert_file.c_str(), ep.key_file.c_str(),
                                              GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
      return unexpected(gnutls_message(
          ("TLS client certificate " + ep.cert_file + " / " + ep.key_file).c_str(), rc));
    }
  }
  return ctx;
}

TlsContext::~TlsContext() {
  if (cred_ != nullptr) gnutls_certificate_free_credentials(cred_);
}

Result<std::unique_ptr<TlsSession>, std::string> TlsSession::create(
    std::shared_ptr<TlsContext> context, const std::string& server_name) {
  std::unique_ptr<TlsSession> s(new TlsSession());
  s->context_ = std::move(context);
  int rc = gnutls_init(&s->session_, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
  if (rc < 0) return unexpected(gnutls_message("TLS session", rc));
  rc = gnutls_set_default_priority(s->session_);
  if (rc < 0) return unexpected(gnutls_message("TLS priority", rc));
  rc = gnutls_credentials_set(s->session_, GNUTLS_CRD_CERTIFICATE, s->context_->credentials());
  if (rc < 0) return unexpected(gnutls_message("TLS credentials", rc));
  if (!is_ip_literal(server_name)) {
    gnutls_server_name_set(s->session_, GNUTLS_NAME_DNS, server_name.data(), server_name.size());
  }
  if (s->context_->verify()) {
    // Checks the chain against the CA and the name (an IP literal against the IP SANs).
    gnutls_session_set_verify_cert(s->session_, server_name.c_str(), 0);
  }
  gnutls_transport_set_ptr(s->session_, s.get());
  gnutls_transport_set_push_function(s->session_, &TlsSession::push);
  gnutls_transport_set_pull_function(s->session_, &TlsSession::pull);
  return s;
}

TlsSession::~TlsSession() {
  if (session_ != nullptr) gnutls_deinit(session_);
}

void TlsSession::feed(std::string_view ciphertext) {
  if (in_offset_ == in_.size()) {
    in_.clear();
    in_offset_ = 0;
  } else if (in_offset_ > 0 && in_offset_ >= in_.size() / 2) {
    in_.erase(0, in_offset_);
    in_offset_ = 0;
  }
  in_.append(ciphertext);
}

TlsSession::Step TlsSession::handshake(std::string* error) {
  const int rc = gnutls_handshake(session_);
  if (rc == GNUTLS_E_SUCCESS) return Step::done;
  if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) return Step::more;
  if (!gnutls_error_is_fatal(rc)) return Step::more;  // a warning alert
  if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
    const unsigned status = gnutls_session_get_verify_cert_status(session_);
    gnutls_datum_t text{};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
      *error = "TLS: the daemon's certificate is not trusted: ";
      error->append(reinterpret_cast<const char*>(text.data), text.size);
      gnutls_free(text.data);
      return Step::failed;
    }
  }
  *error = gnutls_message("TLS handshake", rc);
  return Step::failed;
}

ptrdiff_t TlsSession::read(char* buf, size_t cap, std::string* error) {
  for (;;) {
    const ssize_t n = gnutls_record_recv(session_, buf, cap);
    if (n > 0) return n;
    if (n == 0) return -1;  // close_notify
    // GnuTLS also answers AGAIN after a record that carried no application data (a TLS 1.3
    // session ticket): keep going while fed bytes remain.
    if (n == GNUTLS_E_AGAIN) {
      if (in_offset_ < in_.size()) continue;
      return 0;
    }
    if (n == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(static_cast<int>(n))) continue;
    *error = gnutls_message("TLS read", static_cast<int>(n));
    return -2;
  }
}

bool TlsSession::write(std::string_view plaintext, std::string* error) {
  while (!plaintext.empty()) {
    // push() never blocks, so a record is always written whole.
    const ssize_t n = gnutls_record_send(session_, plaintext.data(), plaintext.size());
    if (n > 0) {
      plaintext.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n == GNUTLS_E_INTERRUPTED) continue;
    *error = gnutls_message("TLS write", static_cast<int>(n));
    return false;
  }
  return true;
}

void TlsSession::close_write() {
  gnutls_bye(session_, GNUTLS_SHUT_WR);
}

std::string TlsSession::take_output() {
  std::string out;
  out.swap(out_);
  return out;
}

ssize_t TlsSession::push(gnutls_transport_ptr_t ptr, const void* data, size_t len) {
  auto* s = static_cast<TlsSession*>(ptr);
  s->out_.append(static_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

ssize_t TlsSession::pull(gnutls_transport_ptr_t ptr, void* data, size_t len) {
  auto* s = static_cast<TlsSession*>(ptr);
  const size_t avail = s->in_.size() - s->in_offset_;
  if (avail == 0) {
    gnutls_transport_set_errno(s->session_, EAGAIN);
    return -1;
  }
  const size_t n = len < avail ? len : avail;
  std::memcpy(data, s->in_.data() + s->in_offset_, n);
  s->in_offset_ += n;
  return static_cast<ssize_t>(n);
}

}  // namespace alk::docker::detail

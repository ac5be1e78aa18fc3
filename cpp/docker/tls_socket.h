// TLS for daemon connections, sans I/O: GnuTLS reads ciphertext from and writes ciphertext to
// memory buffers; the connection moves those bytes over its socket.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <string>
#include <string_view>

#include "docker/endpoint.h"
#include "util/result.h"

namespace alk::docker::detail {

/// Credentials shared by every TLS connection of one client: the CA bundle (when the daemon's
/// certificate is verified) and the optional client certificate and key.
class TlsContext {
 public:
  /// Loads the files named by `ep`. Fails with a message naming the file that could not be read.
  static Result<std::shared_ptr<TlsContext>, std::string> load(const Endpoint& ep);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  gnutls_certificate_credentials_t credentials() const { return cred_; }
  bool verify() const { return verify_; }

 private:
  TlsContext() = default;
  gnutls_certificate_credentials_t cred_ = nullptr;
  bool verify_ = false;
};

/// One TLS client session. Ciphertext from the socket goes in with feed(); ciphertext for the
/// socket comes out of take_output() after every call that may produce some.
class TlsSession {
 public:
  /// A session for `server_name` (a host name, which is also sent as SNI, or an IP literal).
  static Result<std::unique_ptr<TlsSession>, std::string> create(
      std::shared_ptr<TlsContext> context, const std::string& server_name);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// Appends ciphertext received from the socket.
  void feed(std::string_view ciphertext);

  enum class Step { done, more, failed };
  /// Advances the handshake; `failed` fills `error` (certificate problems are spelled out).
  Step handshake(std::string* error);

  /// Decrypts into `buf`: the number of plaintext bytes (> 0); 0 when more ciphertext is needed;
  /// -1 at the peer's close_notify; -2 on an error (filled into `error`).
  ptrdiff_t read(char* buf, size_t cap, std::string* error);

  /// Encrypts `plaintext` into the output. False (with `error`) if the session is broken.
  bool write(std::string_view plaintext, std::string* error);

  /// Queues close_notify: our direction ends, reading continues.
  void close_write();

  /// Ciphertext ready for the socket (moved out; empty when there is none).
  std::string take_output();
  bool has_output() const { return !out_.empty(); }

 private:
  TlsSession() = default;
  static ssize_t push(gnutls_transport_ptr_t ptr, const void* data, size_t len);
  static ssize_t pull(gnutls_transport_ptr_t ptr, void* data, size_t len);

  std::shared_ptr<TlsContext> context_;
  gnutls_session_t session_ = nullptr;
  std::string in_;  // ciphertext not yet consumed by GnuTLS
  size_t in_offset_ = 0;
  std::string out_;  // ciphertext for the socket
};

}  // namespace alk::docker::detail

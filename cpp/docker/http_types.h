// Requests, responses and errors of the Docker Engine API client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace alk::docker {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// One Engine API request. The client prefixes `path` with the negotiated `/v1.NN` unless
/// `unversioned` is set, and url-encodes `query`. `path` is written unencoded: the client
/// percent-encodes the bytes a path may not hold (space, `?`, `#`, `%`, controls, non-ASCII) and
/// keeps `/`, so an image name such as "library/busybox:1.36" goes in as is.
struct Request {
  std::string method = "GET";
  std::string path;  ///< e.g. "/containers/json"
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<std::string> body;  ///< JSON text; sent with Content-Type: application/json
  Headers headers;                  ///< extra headers (e.g. X-Registry-Auth)
  /// Time allowed from sending the request to receiving the response headers; 0 uses
  /// ClientOptions::headers_timeout_ms. Operations that block before answering (stop with a
  /// grace period) widen it.
  uint64_t headers_timeout_ms = 0;
  bool unversioned = false;  ///< send `path` as is (used for /_ping)

  Request& add_query(std::string key, std::string value) {
    query.emplace_back(std::move(key), std::move(value));
    return *this;
  }
};

/// A complete response, or the head of a streamed one (then `body` is empty).
struct Response {
  int status = 0;
  Headers headers;  ///< names as the daemon sent them
  std::string body;

  /// The first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

/// A failure of the client or of the daemon.
struct Error {
  enum class Kind {
    unavailable,      ///< cannot connect, or the connection broke: retryable
    timeout,          ///< connect or time-to-headers timeout
    http,             ///< the daemon answered a non-2xx status (`status`, daemon's `message`)
    protocol,         ///< the daemon's bytes are not valid HTTP / framing
    upgrade_refused,  ///< a hijack request was answered without switching protocols
    api_version,      ///< the daemon's API version is below the minimum we support (1.41)
    tls,              ///< TLS handshake or certificate failure
  };
  Kind kind = Kind::unavailable;
  int status = 0;       ///< HTTP status for Kind::http
  std::string message;  ///< the daemon's own message for http errors, else ours

  /// Builds an http error from a non-2xx response, keeping the daemon's {"message": …}.
  static Error from_response(const Response& r);
};

/// A short name of `k`, e.g. "unavailable".
const char* describe(Error::Kind k);

/// Percent-encodes every byte of `s` outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~), as
/// for a query key or value. With `as_path`, `/` and the other bytes a path segment may hold
/// (`:@!$&'()*+,;=`) are kept too.
std::string percent_encode(std::string_view s, bool as_path = false);

}  // namespace alk::docker

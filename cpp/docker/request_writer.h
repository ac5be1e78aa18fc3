// Serialises an Engine API request into HTTP/1.1 bytes.
#pragma once

#include <string>
#include <string_view>

#include "docker/http_types.h"

namespace alk::docker::detail {

/// How the request will be used: a hijack asks the daemon to switch to a raw stream.
enum class RequestMode { plain, upgrade };

/// The request line, headers and body of `r`. `api_version` ("1.41") prefixes the path unless
/// `r.unversioned`; `host` is the Host header value. A body is sent with Content-Type
/// application/json (unless `r.headers` names one) and its Content-Length; `upgrade` adds
/// `Connection: Upgrade` and `Upgrade: tcp`.
std::string write_request(const Request& r, std::string_view api_version, std::string_view host,
                          RequestMode mode);

/// The request target: `/v<api_version><path>?<query>`, percent-encoded.
std::string request_target(const Request& r, std::string_view api_version);

}  // namespace alk::docker::detail

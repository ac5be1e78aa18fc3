#include "docker/request_writer.h"

namespace alk::docker::detail {

namespace {

bool has_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) {
      same = (k[i] | 0x20) == (name[i] | 0x20);  // ASCII letters and '-' only in header names
    }
    if (same) return true;
  }
  return false;
}

}  // namespace

std::string request_target(const Request& r, std::string_view api_version) {
  std::string target;
  if (!r.unversioned) {
    target += "/v";
    target.append(api_version);
  }
  target += percent_encode(r.path, /*as_path=*/true);
  char sep = '?';
  for (const auto& [k, v] : r.query) {
    target += sep;
    sep = '&';
    target += percent_encode(k);
    target += '=';
    target += percent_encode(v);
  }
  return target;
}

std::string write_request(const Request& r, std::string_view api_version, std::string_view host,
                          RequestMode mode) {
  std::string out;
  out.reserve(256 + (r.body ? r.body->size() : 0));
  out += r.method;
  out += ' ';
  out += request_target(r, api_version);
  out += " HTTP/1.1\r\nHost: ";
  out.append(host);
  out += "\r\nUser-Agent: alknet-docker/0.1\r\n";
  if (mode == RequestMode::upgrade) out += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (r.body) {
    if (!has_header(r.headers, "Content-Type")) out += "Content-Type: application/json\r\n";
    out += "Content-Length: ";
    out += std::to_string(r.body->size());
    out += "\r\n\r\n";
    out += *r.body;
  } else {
    // Without a body nothing follows the headers: on a hijack no stray byte can reach stdin.
    if (r.method == "POST" || r.method == "PUT") out += "Content-Length: 0\r\n";
    out += "\r\n";
  }
  return out;
}

}  // namespace alk::docker::detail

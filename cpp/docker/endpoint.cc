#include "docker/endpoint.h"

#include <charconv>
#include <cstdlib>

namespace alk::docker {

namespace {

Unexpected<std::string> fault(std::string_view docker_host, std::string_view what) {
  std::string m = "DOCKER_HOST \"";
  m.append(docker_host);
  m += "\": ";
  m.append(what);
  return unexpected(std::move(m));
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string Endpoint::describe() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  std::string s = "tcp://";
  if (host.find(':') != std::string::npos) {
    s += '[' + host + ']';  // an IPv6 literal
  } else {
    s += host;
  }
  s += ':' + std::to_string(port);
  return s;
}

Result<Endpoint, std::string> parse_docker_host(std::string_view docker_host,
                                                std::string_view tls_verify,
                                                std::string_view cert_path) {
  Endpoint ep;
  const size_t sep = docker_host.find("://");
  if (sep == std::string_view::npos) {
    return fault(docker_host, "missing scheme (unix://, tcp:// or https://)");
  }
  const std::string_view scheme = docker_host.substr(0, sep);
  std::string_view rest = docker_host.substr(sep + 3);

  if (scheme == "unix") {
    // The CLI reads "unix://" alone as the default socket; TLS settings do not apply to it.
    if (!rest.empty()) {
      if (rest.front() != '/') return fault(docker_host, "the socket path must be absolute");
      ep.path = std::string(rest);
    }
    return ep;
  }
  if (scheme != "tcp" && scheme != "http" && scheme != "https") {
    return fault(docker_host, "unsupported scheme \"" + std::string(scheme) + "\"");
  }
  ep.kind = Endpoint::Kind::tcp;
  ep.tls = scheme == "https" || !tls_verify.empty();
  ep.tls_verify = !tls_verify.empty();

  // A trailing "/" is tolerated; a base path is not supported.
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash != rest.size() - 1)
      return fault(docker_host, "a path after the address is not supported");
    rest = rest.substr(0, slash);
  }
  std::string_view port_text;
  if (starts_with(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return fault(docker_host, "unterminated IPv6 address");
    ep.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fault(docker_host, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return fault(docker_host, "empty port");
    }
  } else {
    const size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      if (rest.find(':') != colon) return fault(docker_host, "an IPv6 address needs [brackets]");
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return fault(docker_host, "empty port");
      rest = rest.substr(0, colon);
    }
    ep.host = std::string(rest);
  }
  if (ep.host.empty()) return fault(docker_host, "missing host");
  if (port_text.empty()) {
    ep.port = ep.tls ? 2376 : 2375;
  } else {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return fault(docker_host, "invalid port \"" + std::string(port_text) + "\"");
    }
    ep.port = static_cast<uint16_t>(value);
  }
  if (ep.tls && !cert_path.empty()) {
    std::string dir(cert_path);
    if (dir.back() != '/') dir += '/';
    ep.ca_file = dir + "ca.pem";
    ep.cert_file = dir + "cert.pem";
    ep.key_file = dir + "key.pem";
  }
  return ep;
}

Result<Endpoint, std::string> endpoint_from_env() {
  const char* host = std::getenv("DOCKER_HOST");
  if (host == nullptr || *host == '\0') return Endpoint{};
  const char* verify = std::getenv("DOCKER_TLS_VERIFY");
  const char* certs = std::getenv("DOCKER_CERT_PATH");
  std::string cert_dir = certs != nullptr ? certs : "";
  if (cert_dir.empty() && verify != nullptr && *verify != '\0') {
    // As the CLI does: the certificates default to ~/.docker.
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
      cert_dir = std::string(home) + "/.docker";
    }
  }
  return parse_docker_host(host, verify != nullptr ? verify : "", cert_dir);
}

}  // namespace alk::docker

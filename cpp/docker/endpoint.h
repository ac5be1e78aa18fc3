// Where the Docker daemon is: DOCKER_HOST and its TLS settings, read the way the docker CLI reads
// them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace alk::docker {

/// A daemon address: a unix socket, or TCP with optional TLS.
struct Endpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path = "/var/run/docker.sock";  ///< unix socket path
  std::string host;                           ///< tcp host name or address
  uint16_t port = 0;                          ///< tcp port
  bool tls = false;                           ///< wrap the TCP connection in TLS
  bool tls_verify = false;                    ///< verify the daemon's certificate against ca_file
  std::string ca_file;                        ///< PEM CA bundle (tls_verify)
  std::string cert_file;                      ///< PEM client certificate (optional)
  std::string key_file;                       ///< PEM client key (optional)

  /// The address in DOCKER_HOST form, e.g. "unix:///var/run/docker.sock", "tcp://h:2376".
  std::string describe() const;
};

/// Parses a DOCKER_HOST value: `unix:///path`, `tcp://host:port` (port defaults to 2375, or 2376
/// with TLS), `https://host:port` (TLS). `tls_verify` and `cert_path` have DOCKER_TLS_VERIFY and
/// DOCKER_CERT_PATH semantics: a non-empty `tls_verify` turns TLS with verification on; cert_path
/// holds ca.pem, cert.pem, key.pem. TLS is never guessed from the port. Returns a message naming
/// the fault on malformed input.
Result<Endpoint, std::string> parse_docker_host(std::string_view docker_host,
                                                std::string_view tls_verify = {},
                                                std::string_view cert_path = {});

/// parse_docker_host on the environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH);
/// the default unix socket when DOCKER_HOST is unset or empty.
Result<Endpoint, std::string> endpoint_from_env();

}  // namespace alk::docker

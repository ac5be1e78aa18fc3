#include "support/test_certs.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace alk::test {

namespace {

struct CertDir {
  std::string path;
  CertDir() {
    path = "/tmp/alk-test-certs-" + std::to_string(::getpid());
    const std::string cmd =
        std::string(ALK_SOURCE_DIR) + "/scripts/make-certs.sh " + path + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-certs.sh failed: " + cmd);
  }
  ~CertDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::string& test_certs_dir() {
  static CertDir dir;
  return dir.path;
}

std::string cert_path(const std::string& name) {
  return test_certs_dir() + "/" + name;
}

std::string cert_fingerprint(const std::string& client) {
  std::ifstream in(cert_path("fingerprints.txt"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name, id;
    words >> name >> id;
    if (name == client) return id;
  }
  return "";
}

transport::quic::QuicClientConfig loopback_quic_client(uint16_t port, const std::string& client) {
  transport::quic::QuicClientConfig config;
  config.host = "127.0.0.1";
  config.port = port;
  config.tls.ca_file = cert_path("ca.crt");
  config.tls.cert_file = cert_path(client + ".crt");
  config.tls.key_file = cert_path(client + ".key");
  return config;
}

}  // namespace alk::test

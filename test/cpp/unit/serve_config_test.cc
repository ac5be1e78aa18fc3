// `alknet-docker serve --config FILE`: every bad file is refused (exit 2) before anything starts,
// with a message naming the field. Runs the built binary; no daemon needed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "support/processes.h"
#include "support/test_certs.h"

namespace alk::test {
namespace {

class ServeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access((std::string(ALK_BINARY_DIR) + "/alknet-docker").c_str(), X_OK) != 0) {
      GTEST_SKIP() << "alknet-docker is not built";
    }
  }
  void TearDown() override { std::remove(path_.c_str()); }

  CommandResult serve_with(const std::string& json, const std::string& extra = "") {
    std::ofstream(path_) << json;
    return run_alknet("serve --config " + path_ + " " + extra);
  }

  std::string certs(const std::string& name) { return cert_path(name); }

  const std::string path_ = "/tmp/alk-serve-config-" + std::to_string(::getpid()) + ".json";
};

TEST_F(ServeConfigTest, NotJson) {
  auto r = serve_with("{listen: nope");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("not valid JSON"), std::string::npos) << r.out;
}

TEST_F(ServeConfigTest, UnknownFieldIsNamed) {
  auto r = serve_with(R"({"lisen": ["unix:///tmp/x.sock"]})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown field \"lisen\""), std::string::npos) << r.out;
}

TEST_F(ServeConfigTest, BadAddressNamesItsIndex) {
  auto r = serve_with(R"({"listen": ["unix:///tmp/x.sock", "quic://127.0.0.1"]})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("listen[1]: bad QUIC address"), std::string::npos) << r.out;
}

TEST_F(ServeConfigTest, WrongTypesAreNamed) {
  auto r = serve_with(R"({"listen": ["unix:///tmp/x.sock"], "idleTimeoutMs": "30s"})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("idleTimeoutMs: expected a whole number"), std::string::npos) << r.out;
  r = serve_with(R"({"listen": ["unix:///tmp/x.sock"], "shutdownGraceS": -1})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("shutdownGraceS:"), std::string::npos) << r.out;
  r = serve_with(R"({"listen": ["unix:///tmp/x.sock"], "cert": 7})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cert: expected a string"), std::string::npos) << r.out;
  r = serve_with(R"({"listen": ["unix:///tmp/x.sock"], "clientAuth": "maybe"})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("clientAuth:"), std::string::npos) << r.out;
}

TEST_F(ServeConfigTest, QuicNeedsCertificatesAndClientCa) {
  auto r = serve_with(R"({"listen": ["quic://127.0.0.1:4433"]})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cert/key"), std::string::npos) << r.out;
  r = serve_with(R"({"listen": ["quic://127.0.0.1:4433"], "cert": ")" + certs("server.crt") +
                 R"(", "key": ")" + certs("server.key") + R"("})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("clientCa:"), std::string::npos) << r.out;
  r = serve_with(R"({"listen": ["quic://127.0.0.1:4433"], "cert": "/nonexistent.pem", "key": ")" +
                 certs("server.key") + R"(", "clientCa": ")" + certs("ca.crt") + R"("})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cert: cannot read /nonexistent.pem"), std::string::npos) << r.out;
}

TEST_F(ServeConfigTest, KeepAliveMustBeShorterThanIdleTimeout) {
  auto r = serve_with(
      R"({"listen": ["unix:///tmp/x.sock"], "idleTimeoutMs": 1000, "keepAliveMs": 5000})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("keepAliveMs:"), std::string::npos) << r.out;
}

TEST_F(ServeConfigTest, PeersFileMustBeReadable) {
  auto r = serve_with(R"({"listen": ["unix:///tmp/x.sock"], "peers": "/nonexistent/peers.json"})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("peers: cannot read /nonexistent/peers.json"), std::string::npos) << r.out;
  r = serve_with(R"({"listen": ["unix:///tmp/x.sock"], "peers": 3})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("peers: expected a string"), std::string::npos) << r.out;
}

TEST_F(ServeConfigTest, MaxStreamsIsBounded) {
  for (const char* bad : {"0", "-3", "1.5", "\"9\"", "2000000"}) {
    auto r =
        serve_with(std::string(R"({"listen": ["unix:///tmp/x.sock"], "maxStreams": )") + bad + "}");
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.out.find("maxStreams: expected a whole number"), std::string::npos) << r.out;
  }
}

TEST_F(ServeConfigTest, FlagsOverrideTheFile) {
  // The file's listen is bad; the command line's replaces it, and the next problem is reported.
  auto r = serve_with(R"({"listen": ["quic://nope"]})", "--listen quic://127.0.0.1:4433");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("listen[0]"), std::string::npos) << r.out;  // the file is read first
  std::ofstream(path_) << R"({"idleTimeoutMs": 1000})";
  r = run_alknet("serve --config " + path_ + " --listen quic://127.0.0.1:4433");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cert/key"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace alk::test

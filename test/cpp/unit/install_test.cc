// `cmake --install`: the server, its systemd unit pointing at the installed binary (checked by
// systemd-analyze where it exists), and an example serve.json that the installed server accepts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/processes.h"
#include "support/test_certs.h"

namespace alk::test {
namespace {

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(alknet_binary().c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
    if (run_command("command -v cmake").exit_code != 0) GTEST_SKIP() << "no cmake";
  }
  void TearDown() override { run_command("rm -rf " + prefix_ + " " + socket_); }

  const std::string prefix_ = "/tmp/alk-install-" + std::to_string(::getpid());
  const std::string socket_ = prefix_ + ".sock";
};

TEST_F(InstallTest, InstallsTheServerItsUnitAndAnExampleConfigItAccepts) {
  const auto installed =
      run_command("cmake --install '" + std::string(ALK_BINARY_DIR) + "' --prefix " + prefix_);
  ASSERT_EQ(installed.exit_code, 0) << installed.out;
  const std::string binary = prefix_ + "/bin/alknet-docker";
  EXPECT_EQ(::access(binary.c_str(), X_OK), 0);
  EXPECT_EQ(::access((prefix_ + "/share/alknet-docker/make-certs.sh").c_str(), X_OK), 0);

  const std::string unit = read_whole_file(prefix_ + "/lib/systemd/system/alknet-docker.service");
  ASSERT_FALSE(unit.empty());
  EXPECT_NE(unit.find("\nExecStart=" + binary + " serve --config /etc/alknet/serve.json\n"),
            std::string::npos)
      << unit;
  EXPECT_NE(unit.find("\nType=notify\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("\nExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos) << unit;
  if (run_command("command -v systemd-analyze").exit_code == 0) {
    // Checks the syntax, and that ExecStart names an executable.
    const auto verified = run_command("systemd-analyze verify " + prefix_ +
                                      "/lib/systemd/system/alknet-docker.service");
    EXPECT_EQ(verified.exit_code, 0) << verified.out;
  }

  // Every key of the example is known and every value valid: the installed server starts from it
  // (listeners and certificates overridden, so that it runs here) and stops cleanly on SIGTERM.
  const std::string example = prefix_ + "/share/doc/alknet-docker/examples/serve.json";
  ASSERT_FALSE(read_whole_file(example).empty());
  const auto served = run_command("timeout -s TERM 3 " + binary + " serve --config " + example +
                                  " --listen unix://" + socket_ +
                                  " --listen quic://127.0.0.1:" + std::to_string(free_udp_port()) +
                                  " --cert " + cert_path("server.crt") + " --key " +
                                  cert_path("server.key") + " --client-ca " + cert_path("ca.crt"));
  EXPECT_NE(served.out.find("listening on quic://"), std::string::npos) << served.out;
  EXPECT_NE(served.out.find("stopped"), std::string::npos) << served.out;
}

}  // namespace
}  // namespace alk::test

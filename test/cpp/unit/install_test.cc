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
  void TearDown() override { run_command("rm -rf " + prefix_ + " " + prefix_ + ".*"); }

  CommandResult install(const std::string& env, const std::string& prefix) {
    return run_command(env + " cmake --install '" + std::string(ALK_BINARY_DIR) + "' --prefix " +
                       prefix);
  }

  const std::string prefix_ = "/tmp/alk-install-" + std::to_string(::getpid());
};

TEST_F(InstallTest, InstallsTheServerItsUnitAndAnExampleConfigItAccepts) {
  const auto installed = install("", prefix_);
  ASSERT_EQ(installed.exit_code, 0) << installed.out;
  const std::string binary = prefix_ + "/bin/alknet-docker";
  const std::string docs = prefix_ + "/share/doc/alknet-docker";
  EXPECT_EQ(::access(binary.c_str(), X_OK), 0);
  EXPECT_EQ(::access((prefix_ + "/share/alknet-docker/make-certs.sh").c_str(), X_OK), 0);
  EXPECT_EQ(::access((docs + "/README.md").c_str(), R_OK), 0);

  const std::string unit_path = prefix_ + "/lib/systemd/system/alknet-docker.service";
  const std::string unit = read_whole_file(unit_path);
  ASSERT_FALSE(unit.empty());
  EXPECT_NE(unit.find("\nExecStart=" + binary + " serve --config /etc/alknet/serve.json\n"),
            std::string::npos)
      << unit;
  EXPECT_NE(unit.find("\nDocumentation=file://" + docs + "/README.md\n"), std::string::npos)
      << unit;
  EXPECT_NE(unit.find("\nType=notify\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("\nExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("\nRuntimeDirectory=alknet\n"), std::string::npos) << unit;
  if (run_command("command -v systemd-analyze").exit_code == 0) {
    // Checks the syntax, and that ExecStart names an executable (not man pages: none may be here).
    const auto verified = run_command("systemd-analyze verify --man=no " + unit_path);
    EXPECT_EQ(verified.exit_code, 0) << verified.out;
  }

  // The example's unix socket is in the directory the unit makes.
  const std::string example = docs + "/examples/serve.json";
  EXPECT_NE(read_whole_file(example).find("\"unix:///run/alknet/"), std::string::npos);
  // Every key of the example is known and every value valid: the installed server starts from it
  // (listeners and certificates overridden, so that it runs here) and stops cleanly on SIGTERM.
  const std::string log = prefix_ + ".log";
  const auto served =
      run_command(binary + " serve --config " + example + " --listen unix://" + prefix_ + ".sock" +
                  " --listen quic://127.0.0.1:" + std::to_string(free_udp_port()) + " --cert " +
                  cert_path("server.crt") + " --key " + cert_path("server.key") + " --client-ca " +
                  cert_path("ca.crt") + " >" + log +
                  " 2>&1 & pid=$!; for i in $(seq 300); do grep -q 'listening on quic' " + log +
                  " && break; sleep 0.1; done; kill -TERM $pid; wait $pid; echo exit=$?");
  const std::string out = read_whole_file(log);
  EXPECT_NE(out.find("listening on quic://127.0.0.1:"), std::string::npos) << out;
  EXPECT_NE(out.find("stopped"), std::string::npos) << out;
  EXPECT_NE(served.out.find("exit=0"), std::string::npos) << served.out << out;
}

TEST_F(InstallTest, StagedWithDestdirTheUnitNamesTheFinalPaths) {
  const std::string stage = prefix_ + ".stage";
  const auto installed = install("DESTDIR=" + stage, "/opt/alknet");
  ASSERT_EQ(installed.exit_code, 0) << installed.out;
  EXPECT_EQ(::access((stage + "/opt/alknet/bin/alknet-docker").c_str(), X_OK), 0);
  const std::string unit =
      read_whole_file(stage + "/opt/alknet/lib/systemd/system/alknet-docker.service");
  EXPECT_NE(unit.find("\nExecStart=/opt/alknet/bin/alknet-docker serve"), std::string::npos)
      << unit;
  EXPECT_EQ(unit.find(stage), std::string::npos) << "the staging directory leaked into the unit";
}

}  // namespace
}  // namespace alk::test

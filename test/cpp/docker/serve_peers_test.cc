// `alknet-docker serve --peers FILE` as a process: auth_token peers on the unix socket, a SIGHUP
// that revokes a peer, and a malformed file on SIGHUP that keeps the previous peers.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "client/call_client.h"
#include "identity/peer_directory.h"
#include "support/engine_fixture.h"

namespace alk::test {
namespace {

using nlohmann::json;

class ServePeersTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    base_ = "/tmp/alk-serve-peers-" + std::to_string(::getpid());
    write_peers(true);
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && ::kill(pid_, 0) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    sh("rm -f " + base_ + ".json " + base_ + ".sock " + base_ + ".log", true);
    EngineFixture::TearDown();
  }

  void write_peers(bool bob_enabled) {
    json peers = json::array();
    for (const std::string id : {"alice", "bob"}) {
      peers.push_back({{"id", id},
                       {"tokenHash", identity::token_hash_of(id + "-token")},
                       {"scopes", {"container:list"}},
                       {"enabled", id == "alice" || bob_enabled}});
    }
    std::ofstream(base_ + ".json") << json{{"peers", peers}}.dump(2);
  }

  std::string log() {
    std::ifstream in(base_ + ".log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Runs one call; returns its error code, "(ok)" on success.
  std::string code_of(const std::string& token, const std::string& op) {
    client::CallClient client(&loop_, client::parse_address("unix://" + base_ + ".sock").value());
    std::optional<call::CallError> error;
    bool ended = false;
    client::CallEvents events;
    events.on_end = [&](std::optional<call::CallError> e) {
      error = std::move(e);
      ended = true;
    };
    client::CallOptions options;
    options.auth_token = token;
    options.kind = call::OpKind::query;
    auto c = client.call(op, json::object(), std::move(events), options);
    EXPECT_TRUE(run_until([&] { return ended; }, std::chrono::seconds(30))) << op;
    return error ? error->code + ": " + error->message : "(ok)";
  }

  bool log_has(const std::string& text) {
    for (int i = 0; i < 200; ++i) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string base_;
  pid_t pid_ = -1;
};

TEST_F(ServePeersTest, SighupRevokesAPeerAndABadFileKeepsThePrevious) {
  const std::string binary = std::string(ALK_BINARY_DIR) + "/alknet-docker";
  ASSERT_EQ(::access(binary.c_str(), X_OK), 0) << binary;
  pid_ = std::stoi(sh("sh -c '" + binary + " serve --listen unix://" + base_ + ".sock --peers " +
                      base_ + ".json >/dev/null 2>" + base_ + ".log & echo $!'"));
  ASSERT_TRUE(log_has("listening on")) << log();

  EXPECT_EQ(code_of("bob-token", "docker/container/list"), "(ok)");
  EXPECT_EQ(code_of("", "docker/container/list"), "FORBIDDEN: authentication required");
  EXPECT_EQ(code_of("", "docker/system/ping"), "(ok)");

  std::ofstream(base_ + ".json") << "{\"peers\": [\n  {\"id\": \"alice\", \"scope\": []}]}";
  ASSERT_EQ(::kill(pid_, SIGHUP), 0);
  ASSERT_TRUE(log_has("SIGHUP: keeping the previous peers")) << log();
  EXPECT_NE(log().find(".json:2: peers[0].scope: unknown field"), std::string::npos) << log();
  EXPECT_EQ(code_of("bob-token", "docker/container/list"), "(ok)");

  write_peers(/*bob_enabled=*/false);
  ASSERT_EQ(::kill(pid_, SIGHUP), 0);
  ASSERT_TRUE(log_has("SIGHUP: reloaded peers")) << log();
  EXPECT_EQ(code_of("bob-token", "docker/container/list"), "FORBIDDEN: authentication required");
  EXPECT_EQ(code_of("alice-token", "docker/container/list"), "(ok)");
  // The audit line names the peer the call ran as. It is written as the call ends on the server,
  // which may be just after the client saw the answer: wait for it.
  EXPECT_TRUE(log_has("peer=alice via=")) << log();
  EXPECT_TRUE(log_has("peer=anonymous")) << log();
}

}  // namespace
}  // namespace alk::test

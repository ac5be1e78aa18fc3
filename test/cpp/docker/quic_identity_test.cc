// Identity through the real server process: `alknet-docker serve --peers FILE` with a QUIC and a
// unix listener side by side. Peers named by their client certificate over QUIC and by auth_token
// over the unix socket share one server: each sees and touches only its own containers, the
// operator manages all, an unknown or disabled certificate is anonymous, and a SIGHUP reload
// revokes a peer at its next call while another peer's log follow keeps flowing.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "client/call_client.h"
#include "identity/peer_directory.h"
#include "support/call_outcome.h"
#include "support/engine_fixture.h"
#include "support/per_container_ops.h"
#include "support/processes.h"
#include "support/test_certs.h"

namespace alk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kBinary = alknet_binary();

const std::vector<std::string> kUserScopes = {
    "container:list", "container:inspect", "container:create",  "container:start",
    "container:stop", "container:kill",    "container:restart", "container:remove",
    "container:wait", "container:logs",    "container:stats",   "container:resize",
    "container:exec", "container:attach",  "container:run"};

json cert_peer(const std::string& id, const std::string& cert, std::vector<std::string> scopes,
               bool enabled = true) {
  return {{"id", id},
          {"fingerprints", {cert_fingerprint(cert)}},
          {"scopes", std::move(scopes)},
          {"enabled", enabled}};
}

// Who calls: a client certificate over QUIC ("client-a", …), or a token over the unix socket.
struct Caller {
  std::string cert;   // QUIC when set
  std::string token;  // auth_token sent with each request ("" = none)
};

const Caller kAlice{"client-a", ""};     // peer "alice" (certificate)
const Caller kBob{"client-b", ""};       // peer "bob" (certificate, uppercase hex in the file)
const Caller kTara{"", "tara-token"};    // peer "tara" (token, unix socket)
const Caller kOps{"client-c", ""};       // peer "ops", the operator (certificate)
const Caller kDave{"client-d", ""};      // peer "dave", disabled (certificate)
const Caller kStranger{"client-e", ""};  // same CA, in no peer's fingerprints

class QuicIdentityTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    if (HasFatalFailure()) return;
    if (::access(kBinary.c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
    const std::string tag = std::to_string(::getpid());
    base_ = "/tmp/alk-quic-identity-" + tag;
    label_ = "quic-identity-" + tag;
    write_peers(/*bob_enabled=*/true);
    start_server();
  }

  void TearDown() override {
    calls_.clear();
    clients_.clear();
    run_until([] { return false; }, 50ms);  // the QUIC clients close their connections
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      bool exited = false;
      for (int i = 0; i < 200 && !exited; ++i) {
        exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
        if (!exited) std::this_thread::sleep_for(50ms);
      }
      if (!exited) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
      EXPECT_TRUE(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "the server did not stop cleanly\n"
          << log();
    }
    // One id per line: every one of them goes to a single docker rm.
    sh("docker ps -aq --filter label=alknet-test=" + label_ +
           " | xargs -r docker rm -f >/dev/null 2>&1",
       true);
    sh("rm -f " + base_ + ".json " + base_ + ".sock " + base_ + ".log", true);
    EngineFixture::TearDown();
  }

  void write_peers(bool bob_enabled) {
    json bob = cert_peer("bob", "client-b", kUserScopes, bob_enabled);
    // The file may spell a fingerprint's hex in upper case; the certificate's id is lower case.
    std::string fp = bob["fingerprints"][0];
    for (size_t i = 7; i < fp.size(); ++i) fp[i] = static_cast<char>(std::toupper(fp[i]));
    bob["fingerprints"][0] = fp;
    json peers = {cert_peer("alice", "client-a", kUserScopes),
                  bob,
                  {{"id", "tara"},
                   {"tokenHash", identity::token_hash_of("tara-token")},
                   {"scopes", kUserScopes}},
                  cert_peer("ops", "client-c", {"container:manage"}),
                  cert_peer("dave", "client-d", kUserScopes, /*enabled=*/false)};
    std::ofstream(base_ + ".json") << json{{"peers", peers}}.dump(2);
  }

  void start_server() {
    address_ = "quic://127.0.0.1:" + std::to_string(free_udp_port());
    const std::string log_path = base_ + ".log";
    const std::vector<std::string> args = {kBinary,
                                           "serve",
                                           "--listen",
                                           address_,
                                           "--listen",
                                           "unix://" + base_ + ".sock",
                                           "--cert",
                                           cert_path("server.crt"),
                                           "--key",
                                           cert_path("server.key"),
                                           "--client-ca",
                                           cert_path("ca.crt"),
                                           "--peers",
                                           base_ + ".json",
                                           "--shutdown-grace",
                                           "2"};
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      FILE* f = std::fopen(log_path.c_str(), "w");
      if (f) ::dup2(::fileno(f), STDERR_FILENO);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(kBinary.c_str(), argv.data());
      ::_exit(127);
    }
    ASSERT_TRUE(log_has("listening on quic://")) << log();
    ASSERT_TRUE(log_has("listening on unix://")) << log();
  }

  std::string log() const {
    std::ifstream in(base_ + ".log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Waits up to 10 s for `text` in the server's log.
  bool log_has(const std::string& text) const {
    for (int i = 0; i < 200; ++i) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // One client per certificate (its calls share one QUIC connection), one for the unix socket.
  client::CallClient& client_for(const Caller& who) {
    auto& slot = clients_[who.cert];
    if (!slot) {
      if (who.cert.empty()) {
        slot = std::make_unique<client::CallClient>(
            &loop_, client::parse_address("unix://" + base_ + ".sock").value());
      } else {
        client::ClientTlsOptions tls;
        tls.ca = cert_path("ca.crt");
        tls.cert = cert_path(who.cert + ".crt");
        tls.key = cert_path(who.cert + ".key");
        slot = std::make_unique<client::CallClient>(&loop_, client::parse_address(address_).value(),
                                                    std::move(tls));
      }
    }
    return *slot;
  }

  // Starts a call as `who`; `out` records it. The call lives until the test ends.
  client::ClientCall& begin(CallOutcome& out, const Caller& who, const std::string& op, json input,
                            call::Carriage carriage = call::Carriage::json) {
    client::CallOptions options;
    options.auth_token = who.token;
    options.carriage = carriage;
    if (const auto* spec = engine_->registry().find(op)) options.kind = spec->kind;
    calls_.push_back(client_for(who).call(op, std::move(input), record_into(out), options));
    return *calls_.back();
  }

  CallOutcome call_as(const Caller& who, const std::string& op, json input,
                      call::Carriage carriage = call::Carriage::json) {
    CallOutcome out;
    begin(out, who, op, std::move(input), carriage);
    EXPECT_TRUE(run_until([&] { return out.ended; }, 60s)) << op;
    calls_.pop_back();
    return out;
  }

  // Creates a container as `who` (labelled for TearDown); returns its id.
  std::string create_as(const Caller& who, std::vector<std::string> command) {
    const CallOutcome out = call_as(who, "docker/container/create",
                                    {{"image", test_image()},
                                     {"command", std::move(command)},
                                     {"networkMode", "none"},
                                     {"labels", {{"alknet-test", label_}}}});
    EXPECT_FALSE(out.error) << out.describe();
    if (out.error || out.outputs.empty()) return "";
    return out.outputs[0]["id"];
  }

  // The ids in a container/list answer.
  static std::set<std::string> ids_in(const CallOutcome& list) {
    std::set<std::string> ids;
    if (list.outputs.empty()) return ids;
    for (const auto& c : list.outputs[0]) ids.insert(c.value("Id", ""));
    return ids;
  }

  std::set<std::string> listed_by(const Caller& who) {
    const CallOutcome list =
        call_as(who, "docker/container/list",
                {{"all", true}, {"filters", {{"label", {"alknet-test=" + label_}}}}});
    EXPECT_FALSE(list.error) << list.describe();
    return ids_in(list);
  }

  std::string base_, label_, address_;
  pid_t pid_ = -1;
  std::map<std::string, std::unique_ptr<client::CallClient>> clients_;
  std::vector<std::unique_ptr<client::ClientCall>> calls_;
};

TEST_F(QuicIdentityTest, EachPeerSeesAndTouchesOnlyItsContainersAcrossTransports) {
  const std::string a = create_as(kAlice, {"sleep", "300"});
  const std::string b = create_as(kBob, {"sleep", "300"});
  const std::string t = create_as(kTara, {"sleep", "300"});
  ASSERT_FALSE(a.empty() || b.empty() || t.empty());
  // The owner label is the peer the certificate (or token) maps to, not the fingerprint.
  EXPECT_EQ(sh("docker inspect -f '{{index .Config.Labels \"alknet.owner\"}}' " + a), "alice");
  EXPECT_EQ(sh("docker inspect -f '{{index .Config.Labels \"alknet.owner\"}}' " + b), "bob");
  EXPECT_EQ(sh("docker inspect -f '{{index .Config.Labels \"alknet.owner\"}}' " + t), "tara");

  EXPECT_EQ(listed_by(kAlice), std::set<std::string>{a});
  EXPECT_EQ(listed_by(kBob), std::set<std::string>{b});
  EXPECT_EQ(listed_by(kTara), std::set<std::string>{t});
  EXPECT_EQ(listed_by(kOps), (std::set<std::string>{a, b, t}));

  const auto& ops = per_container_ops();
  // Certificate peer on a certificate peer's container, on a token peer's, and the other way.
  const std::vector<std::tuple<const char*, Caller, std::string>> pairs = {
      {"alice on bob's", kAlice, b}, {"bob on tara's", kBob, t}, {"tara on alice's", kTara, a}};
  for (const auto& [what, who, target] : pairs) {
    for (const auto& op : ops) {
      json input = op.extra;
      input["containerId"] = target;
      const CallOutcome out = call_as(who, op.name, input, op.carriage);
      EXPECT_EQ(out.code(), "FORBIDDEN") << what << " " << op.name << ": " << out.describe();
      EXPECT_EQ(out.message(), "not owner of resource: container/" + target) << op.name;
      EXPECT_TRUE(out.outputs.empty()) << what << " " << op.name;
    }
  }
  for (const auto& id : {a, b, t}) {
    EXPECT_EQ(sh("docker inspect -f '{{.State.Status}}' " + id), "created") << "touched: " << id;
  }

  // Each manages its own.
  EXPECT_EQ(call_as(kAlice, "docker/container/start", {{"containerId", a}}).describe(), "(ok)");
  EXPECT_EQ(call_as(kTara, "docker/container/start", {{"containerId", t}}).describe(), "(ok)");
  const CallOutcome exec =
      call_as(kAlice, "docker/container/exec", {{"containerId", a}, {"command", {"true"}}});
  EXPECT_EQ(exec.describe(), "(ok)");

  // The operator manages everyone's.
  EXPECT_EQ(call_as(kOps, "docker/container/inspect", {{"containerId", b}}).describe(), "(ok)");
  EXPECT_EQ(call_as(kOps, "docker/container/start", {{"containerId", b}}).describe(), "(ok)");
  EXPECT_EQ(call_as(kOps, "docker/container/kill", {{"containerId", t}}).describe(), "(ok)");
  EXPECT_EQ(
      call_as(kOps, "docker/container/remove", {{"containerId", a}, {"force", true}}).describe(),
      "(ok)");
  EXPECT_EQ(sh("docker inspect -f '{{.State.Status}}' " + b), "running");
  EXPECT_EQ(sh("docker inspect -f '{{.State.Status}}' " + t), "exited");
  EXPECT_EQ(sh("docker ps -aq --filter id=" + a, true), "");

  // The audit lines name the mapped peers and their transports (each is written as its call ends
  // on the server, maybe just after the client saw the answer: log_has waits).
  EXPECT_TRUE(log_has("call peer=alice via=quic addr=127.0.0.1:")) << log();
  // ... and the certificate behind a mapped peer, as its own field.
  EXPECT_TRUE(log_has(" cert=" + cert_fingerprint(kAlice.cert) + " op=docker/container/")) << log();
  EXPECT_TRUE(log_has("call peer=ops via=quic")) << log();
  EXPECT_TRUE(log_has("call peer=tara via=unix op=docker/container/attach resource=container/" + a))
      << log();
  EXPECT_TRUE(log_has("outcome=FORBIDDEN")) << log();
  EXPECT_TRUE(log_has("quic connection open listener=" + address_ +
                      " peer=" + cert_fingerprint("client-b")))
      << log();
}

TEST_F(QuicIdentityTest, UnknownCertificateAndDisabledPeerAreAnonymous) {
  for (const Caller& who : {kStranger, kDave}) {
    EXPECT_EQ(call_as(who, "docker/system/ping", json::object()).describe(), "(ok)") << who.cert;
    const CallOutcome services = call_as(who, "services/list", json::object());
    ASSERT_EQ(services.outputs.size(), 1u) << services.describe();
    std::vector<std::string> names;
    for (const auto& e : services.outputs[0]) names.push_back(e["name"]);
    EXPECT_EQ(names,
              (std::vector<std::string>{"docker/system/ping", "services/list", "services/schema"}))
        << who.cert;
    for (const char* op : {"docker/container/list", "docker/system/version"}) {
      const CallOutcome refused = call_as(who, op, json::object());
      EXPECT_EQ(refused.describe(), "FORBIDDEN: authentication required") << who.cert << " " << op;
    }
    const CallOutcome create = call_as(who, "docker/container/create", {{"image", test_image()}});
    EXPECT_EQ(create.describe(), "FORBIDDEN: authentication required") << who.cert;
  }
  // An auth_token names its peer for that request, over QUIC too; a wrong one changes nothing.
  EXPECT_EQ(call_as({"client-e", "tara-token"}, "docker/container/list", json::object()).describe(),
            "(ok)");
  EXPECT_EQ(
      call_as({"client-e", "wrong-token"}, "docker/container/list", json::object()).describe(),
      "FORBIDDEN: authentication required");
  EXPECT_EQ(
      call_as({"client-a", "wrong-token"}, "docker/container/list", json::object()).describe(),
      "(ok)");
  // A peer lacking a scope gets alknet's message.
  EXPECT_EQ(call_as(kAlice, "docker/image/pull", {{"image", "busybox"}}).describe(),
            "FORBIDDEN: missing required scope: image:pull");

  EXPECT_TRUE(log_has("call peer=anonymous via=quic")) << log();
  EXPECT_TRUE(log_has("call peer=tara via=quic")) << log();
  // The connection log names the certificate whatever the peer it maps to.
  EXPECT_TRUE(log_has("quic connection open listener=" + address_ +
                      " peer=" + cert_fingerprint("client-e")))
      << log();
}

TEST_F(QuicIdentityTest, SighupRevokesAPeerAtItsNextCallWhileAnotherPeersFollowFlows) {
  const std::string a =
      create_as(kAlice, {"sh", "-c", "while true; do echo tick; sleep 0.1; done"});
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(call_as(kAlice, "docker/container/start", {{"containerId", a}}).describe(), "(ok)");
  CallOutcome logs;
  begin(logs, kAlice, "docker/container/logs", {{"containerId", a}, {"follow", true}});
  ASSERT_TRUE(run_until([&] { return logs.outputs.size() >= 3 || logs.ended; }, 30s));
  ASSERT_FALSE(logs.ended) << logs.describe();
  ASSERT_EQ(call_as(kBob, "docker/container/list", json::object()).describe(), "(ok)");
  ASSERT_TRUE(client_for(kBob).connected());

  write_peers(/*bob_enabled=*/false);
  ASSERT_EQ(::kill(pid_, SIGHUP), 0);
  ASSERT_TRUE(log_has("SIGHUP: reloaded peers")) << log();

  // Bob's next call, on the connection he already has, runs as nobody.
  const CallOutcome revoked = call_as(kBob, "docker/container/list", json::object());
  EXPECT_EQ(revoked.describe(), "FORBIDDEN: authentication required");
  EXPECT_EQ(call_as(kBob, "docker/system/ping", json::object()).describe(), "(ok)");
  EXPECT_TRUE(client_for(kBob).connected()) << "the reload must not drop connections";

  // Alice's follow, opened before the reload, keeps flowing; her new calls still work.
  const size_t seen = logs.outputs.size();
  EXPECT_TRUE(run_until([&] { return logs.outputs.size() >= seen + 3 || logs.ended; }, 30s));
  EXPECT_FALSE(logs.ended) << logs.describe();
  EXPECT_EQ(call_as(kAlice, "docker/container/list", json::object()).describe(), "(ok)");
  EXPECT_EQ(call_as(kTara, "docker/container/list", json::object()).describe(), "(ok)");
  EXPECT_EQ(log().find("quic connection closed"), std::string::npos) << log();
}

}  // namespace
}  // namespace alk::test

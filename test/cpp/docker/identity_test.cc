// Identity end to end over a unix socket against the real daemon: peers named by auth_token, the
// access policy, container ownership, the create policy, anonymous callers, the audit record of
// each call, and a peers-file reload that revokes one peer while another's stream keeps flowing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "call/session.h"
#include "client/call_client.h"
#include "identity/authorizer.h"
#include "identity/peer_directory.h"
#include "identity/session_identity.h"
#include "support/call_outcome.h"
#include "support/engine_fixture.h"
#include "support/per_container_ops.h"
#include "transport/unix_listener.h"

namespace alk::test {
namespace {

using nlohmann::json;

const std::vector<std::string> kUserScopes = {
    "container:list", "container:inspect", "container:create",  "container:start",
    "container:stop", "container:kill",    "container:restart", "container:remove",
    "container:wait", "container:logs",    "container:stats",   "container:resize",
    "container:exec", "container:attach",  "container:run",     "system:events"};

const std::vector<std::string> kPolicyScopes = {"container:privileged", "container:host-namespaces",
                                                "container:devices",    "container:capabilities",
                                                "container:bind",       "container:security-opt"};

json peer_json(const std::string& id, std::vector<std::string> scopes, bool enabled = true) {
  return {{"id", id},
          {"tokenHash", identity::token_hash_of(id + "-token")},
          {"scopes", std::move(scopes)},
          {"enabled", enabled}};
}

class IdentityTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    if (HasFatalFailure()) return;
    peers_path_ = "/tmp/alk-identity-test-" + std::to_string(::getpid()) + ".json";
    std::vector<std::string> power = kUserScopes;
    power.insert(power.end(), kPolicyScopes.begin(), kPolicyScopes.end());
    write_peers({peer_json("alice", kUserScopes), peer_json("bob", kUserScopes),
                 peer_json("ops", {"container:manage"}), peer_json("power", power),
                 peer_json("carol", kUserScopes, /*enabled=*/false)});
    identity::PeersParseOptions options;
    options.known_scopes = identity::known_scopes(engine_->registry());
    auto loaded = identity::load_peers_file(peers_path_, options);
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    directory_ = std::make_unique<identity::PeerDirectory>(std::move(loaded).value());
    engine_->registry().set_authorizer(identity::authorize);

    socket_ = "/tmp/alk-identity-test-" + std::to_string(::getpid()) + ".sock";
    listener_ = std::make_unique<transport::UnixListener>(
        &loop_, socket_, [this](transport::ByteStream& stream) {
          call::SessionEnv env;
          env.registry = &engine_->registry();
          env.deferrer = &engine_->deferrer();
          identity::configure_unix_session(env, directory_.get());
          env.on_call_end = [this](const call::CallRecord& r) { records_.push_back(r); };
          return std::make_unique<call::CallSession>(stream, std::move(env));
        });
    auto ok = listener_->listen();
    ASSERT_TRUE(ok.ok()) << ok.error();
    auto address = client::parse_address("unix://" + socket_);
    ASSERT_TRUE(address.ok());
    client_ = std::make_unique<client::CallClient>(&loop_, address.value());
  }

  void TearDown() override {
    if (listener_) {
      bool closed = false;
      listener_->close(/*drop_connections=*/true, [&] { closed = true; });
      run_until([&] { return closed; }, std::chrono::seconds(10));
    }
    client_.reset();
    ::unlink(peers_path_.c_str());
    EngineFixture::TearDown();
  }

  void write_peers(const json& peers) {
    std::ofstream(peers_path_) << json{{"peers", peers}}.dump(2);
  }

  // Starts a call as the peer whose token is `token` ("" = none); `out` records it.
  std::unique_ptr<client::ClientCall> begin(CallOutcome& out, const std::string& token,
                                            const std::string& op, json input,
                                            call::Carriage carriage = call::Carriage::json) {
    client::CallOptions options;
    options.auth_token = token;
    options.carriage = carriage;
    if (const auto* spec = engine_->registry().find(op)) options.kind = spec->kind;
    return client_->call(op, std::move(input), record_into(out), options);
  }

  CallOutcome call_as(const std::string& token, const std::string& op, json input,
                      call::Carriage carriage = call::Carriage::json) {
    CallOutcome out;
    auto c = begin(out, token, op, std::move(input), carriage);
    EXPECT_TRUE(run_until([&] { return out.ended; }, std::chrono::seconds(60))) << op;
    return out;
  }

  // Creates a container as `token`'s peer; returns its id (removed in TearDown).
  std::string create_as(const std::string& token, json input) {
    input["image"] = test_image();
    if (!input.contains("networkMode")) input["networkMode"] = "none";
    auto out = call_as(token, "docker/container/create", input);
    EXPECT_FALSE(out.error) << out.code() << ": " << out.message();
    if (out.error || out.outputs.empty()) return "";
    const std::string id = out.outputs[0]["id"];
    containers_.push_back(id);
    return id;
  }

  static bool listed(const CallOutcome& list, const std::string& id) {
    if (list.outputs.empty()) return false;
    for (const auto& c : list.outputs[0]) {
      if (c.value("Id", "") == id) return true;
    }
    return false;
  }

  std::string peers_path_;
  std::string socket_;
  std::unique_ptr<identity::PeerDirectory> directory_;
  std::unique_ptr<transport::UnixListener> listener_;
  std::unique_ptr<client::CallClient> client_;
  std::vector<call::CallRecord> records_;
};

TEST_F(IdentityTest, EachPeerSeesAndTouchesOnlyItsContainers) {
  const std::string a = create_as("alice-token", {{"command", {"sleep", "60"}}});
  const std::string b = create_as("bob-token", {{"command", {"sleep", "60"}}});
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(sh("docker inspect -f '{{index .Config.Labels \"alknet.owner\"}}' " + a), "alice");
  EXPECT_EQ(sh("docker inspect -f '{{index .Config.Labels \"alknet.managed\"}}' " + b), "true");

  const CallOutcome alice_list = call_as("alice-token", "docker/container/list", {{"all", true}});
  EXPECT_TRUE(listed(alice_list, a));
  EXPECT_FALSE(listed(alice_list, b));
  const CallOutcome bob_list = call_as("bob-token", "docker/container/list", {{"all", true}});
  EXPECT_TRUE(listed(bob_list, b));
  EXPECT_FALSE(listed(bob_list, a));
  const CallOutcome ops_list = call_as("ops-token", "docker/container/list", {{"all", true}});
  EXPECT_TRUE(listed(ops_list, a));
  EXPECT_TRUE(listed(ops_list, b));

  // since/before name a container, which the daemon resolves before the owner filter: a peer's
  // list would answer NOT_FOUND for a name nobody uses and ok for bob's. Refused alike for any.
  for (const char* key : {"since", "before"}) {
    for (const auto& target : {b, std::string("alknet-test-no-such-container")}) {
      const CallOutcome probe = call_as("alice-token", "docker/container/list",
                                        {{"all", true}, {"filters", {{key, {target}}}}});
      EXPECT_EQ(probe.code(), "FORBIDDEN") << key << " " << target << ": " << probe.message();
      EXPECT_EQ(probe.message(), std::string("filters.") + key +
                                     ": names a container, which only an operator's list may do");
    }
    const CallOutcome ops_probe =
        call_as("ops-token", "docker/container/list", {{"all", true}, {"filters", {{key, {b}}}}});
    EXPECT_EQ(ops_probe.code(), "(ok)") << key << ": " << ops_probe.message();
  }

  // Every per-container operation on the other peer's container, and on one that does not exist.
  const std::string missing = "alknet-test-no-such-container";
  const auto& ops = per_container_ops();
  for (const auto& target : {b, missing}) {
    for (const auto& op : ops) {
      json input = op.extra;
      input["containerId"] = target;
      const CallOutcome out = call_as("alice-token", op.name, input, op.carriage);
      EXPECT_EQ(out.code(), "FORBIDDEN") << op.name << " on " << target;
      EXPECT_EQ(out.message(), "not owner of resource: container/" + target) << op.name;
      EXPECT_TRUE(out.outputs.empty()) << op.name;  // nothing about the container leaks
      if (out.error) {
        EXPECT_TRUE(out.error->details.is_null()) << op.name;
      }
    }
  }
  EXPECT_EQ(sh("docker inspect -f '{{.State.Status}}' " + b), "created");  // untouched

  // The audit record of the last refusal: peer, operation, container, outcome.
  ASSERT_FALSE(records_.empty());
  const call::CallRecord& r = records_.back();
  EXPECT_EQ(r.peer, "alice");
  EXPECT_EQ(r.operation, "docker/container/attach");
  EXPECT_EQ(r.resource, "container/" + missing);
  EXPECT_EQ(r.outcome, "FORBIDDEN");

  // Her own container is hers to manage.
  EXPECT_EQ(call_as("alice-token", "docker/container/start", {{"containerId", a}}).code(), "(ok)");
  const CallOutcome exec =
      call_as("alice-token", "docker/container/exec", {{"containerId", a}, {"command", {"true"}}});
  EXPECT_EQ(exec.code(), "(ok)") << exec.message();

  // The operator manages everything, including what the peers own.
  EXPECT_EQ(call_as("ops-token", "docker/container/inspect", {{"containerId", b}}).code(), "(ok)");
  EXPECT_EQ(
      call_as("ops-token", "docker/container/remove", {{"containerId", a}, {"force", true}}).code(),
      "(ok)");
  EXPECT_EQ(call_as("ops-token", "docker/container/inspect", {{"containerId", missing}}).code(),
            "CONTAINER_NOT_FOUND");
}

TEST_F(IdentityTest, OwnershipLabelsCannotBeForged) {
  const std::string b = create_as("bob-token", {{"command", {"sleep", "60"}}});
  ASSERT_FALSE(b.empty());
  // Bob's containers before alice tries (the daemon may hold some of other test runs).
  const CallOutcome before = call_as("bob-token", "docker/container/list", {{"all", true}});
  ASSERT_EQ(before.outputs.size(), 1u);
  EXPECT_TRUE(listed(before, b));
  for (const char* label : {"alknet.owner", "alknet.managed", "alknet.anything"}) {
    json input = {{"image", test_image()}, {"labels", {{label, "bob"}}}};
    const CallOutcome out = call_as("alice-token", "docker/container/create", input);
    EXPECT_EQ(out.code(), "INVALID_INPUT") << label;
    EXPECT_NE(out.message().find(std::string("labels.") + label), std::string::npos)
        << out.message();
  }
  // Nothing alice created claims to be bob's.
  const CallOutcome after = call_as("bob-token", "docker/container/list", {{"all", true}});
  ASSERT_EQ(after.outputs.size(), 1u);
  EXPECT_EQ(after.outputs[0].size(), before.outputs[0].size()) << after.outputs[0].dump();
}

TEST_F(IdentityTest, ANameConflictDoesNotNameAnotherPeersContainer) {
  const std::string name = "alknet-test-taken-" + std::to_string(::getpid());
  const std::string b = create_as("bob-token", {{"command", {"sleep", "60"}}, {"name", name}});
  ASSERT_FALSE(b.empty());
  for (const char* op : {"docker/container/create", "docker/container/run"}) {
    const CallOutcome out = call_as(
        "alice-token", op, {{"image", test_image()}, {"command", {"true"}}, {"name", name}});
    EXPECT_EQ(out.code(), "CONFLICT") << op;
    EXPECT_EQ(out.message(), "container name already in use") << op;
    EXPECT_EQ(out.error ? out.error->details.dump() : "", "{\"status\":409}") << op;
  }
  // The operator sees the daemon's own message.
  const CallOutcome ops = call_as("ops-token", "docker/container/create",
                                  {{"image", test_image()}, {"command", {"true"}}, {"name", name}});
  EXPECT_EQ(ops.code(), "CONFLICT");
  EXPECT_NE(ops.message().find(b.substr(0, 12)), std::string::npos) << ops.message();
}

TEST_F(IdentityTest, DangerousCreateOptionsNeedTheirScope) {
  const std::vector<std::pair<json, std::string>> options = {
      {{{"privileged", true}}, "container:privileged"},
      {{{"networkMode", "host"}}, "container:host-namespaces"},
      {{{"pidMode", "host"}}, "container:host-namespaces"},
      {{{"ipcMode", "host"}}, "container:host-namespaces"},
      {{{"utsMode", "host"}}, "container:host-namespaces"},
      {{{"devices", {"/dev/null:/dev/extra-null"}}}, "container:devices"},
      {{{"capAdd", {"NET_ADMIN"}}}, "container:capabilities"},
      {{{"binds", {"/tmp:/host-tmp:ro"}}}, "container:bind"},
      {{{"securityOpt", {"no-new-privileges"}}}, "container:security-opt"},
  };
  for (const auto& [option, scope] : options) {
    json input = option;
    input["image"] = test_image();
    input["command"] = {"true"};
    const CallOutcome refused = call_as("alice-token", "docker/container/create", input);
    EXPECT_EQ(refused.code(), "FORBIDDEN") << option.dump();
    EXPECT_NE(refused.message().find("missing required scope: " + scope), std::string::npos)
        << refused.message();
    EXPECT_EQ(create_as("power-token", input).empty(), false) << option.dump();
  }
  // A named volume is not a host path.
  EXPECT_FALSE(create_as("alice-token", {{"binds", {"alknet-test-vol:/data"}}}).empty());
  sh("docker volume rm -f alknet-test-vol >/dev/null 2>&1", true);
}

TEST_F(IdentityTest, UnknownTokenAndDisabledPeerAreAnonymous) {
  for (const std::string token : {"", "wrong-token", "carol-token"}) {
    const CallOutcome list = call_as(token, "docker/container/list", json::object());
    EXPECT_EQ(list.code(), "FORBIDDEN") << token;
    EXPECT_EQ(list.message(), "authentication required") << token;
    EXPECT_EQ(call_as(token, "docker/system/version", json::object()).code(), "FORBIDDEN");
    EXPECT_EQ(call_as(token, "docker/system/ping", json::object()).code(), "(ok)") << token;
    const CallOutcome services = call_as(token, "services/list", json::object());
    ASSERT_EQ(services.outputs.size(), 1u);
    std::vector<std::string> names;
    for (const auto& e : services.outputs[0]) names.push_back(e["name"]);
    EXPECT_EQ(names,
              (std::vector<std::string>{"docker/system/ping", "services/list", "services/schema"}));
    ASSERT_FALSE(records_.empty());
    EXPECT_EQ(records_.back().peer, "anonymous");
  }
  // A scope the peer lacks: alknet's message.
  const CallOutcome pull = call_as("alice-token", "docker/image/pull", {{"image", "busybox"}});
  EXPECT_EQ(pull.code(), "FORBIDDEN");
  EXPECT_EQ(pull.message(), "missing required scope: image:pull");
}

TEST_F(IdentityTest, ReloadRevokesAPeerWhileAnotherPeersStreamFlows) {
  const std::string a = create_as(
      "alice-token", {{"command", {"sh", "-c", "while true; do echo tick; sleep 0.1; done"}}});
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(call_as("alice-token", "docker/container/start", {{"containerId", a}}).code(), "(ok)");
  CallOutcome logs;
  auto follow =
      begin(logs, "alice-token", "docker/container/logs", {{"containerId", a}, {"follow", true}});
  ASSERT_TRUE(run_until([&] { return logs.outputs.size() >= 3; }));
  ASSERT_EQ(call_as("bob-token", "docker/container/list", json::object()).code(), "(ok)");

  // A malformed file is refused and the old peers stay.
  std::ofstream(peers_path_) << "{\"peers\": [\n  {\"id\": 7}]}";
  identity::PeersParseOptions options;
  options.known_scopes = identity::known_scopes(engine_->registry());
  auto bad = directory_->reload(peers_path_, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find(":2: peers[0].id: expected a string"), std::string::npos)
      << bad.error();
  EXPECT_EQ(call_as("bob-token", "docker/container/list", json::object()).code(), "(ok)");

  // Bob is disabled: his next call is anonymous; alice's open follow keeps flowing.
  write_peers({peer_json("alice", kUserScopes), peer_json("bob", kUserScopes, false)});
  auto reloaded = directory_->reload(peers_path_, options);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error();
  const CallOutcome revoked = call_as("bob-token", "docker/container/list", json::object());
  EXPECT_EQ(revoked.code(), "FORBIDDEN");
  EXPECT_EQ(revoked.message(), "authentication required");
  const size_t seen = logs.outputs.size();
  EXPECT_TRUE(run_until([&] { return logs.outputs.size() >= seen + 3; }));
  EXPECT_FALSE(logs.ended);
  EXPECT_EQ(call_as("alice-token", "docker/container/list", json::object()).code(), "(ok)");
  follow.reset();  // cancels the follow
}

}  // namespace
}  // namespace alk::test

// docker/container/* against the real daemon: the lifecycle create → start → wait → inspect →
// remove, list with ownedOnly, typed errors, stats, and the ownership check of non-operator peers.
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/engine_fixture.h"

namespace alk::test {
namespace {

using nlohmann::json;

// `<prefix>.*` labels are reserved, so containers made through create carry alknet-test=1.
const json kTestLabels = {{"alknet-test", "1"}};

class ContainerOpsTest : public EngineFixture {
 protected:
  // Runs `op` as `peer` to its terminal answer.
  std::unique_ptr<LiveCall> call_as(const call::Peer& peer, const std::string& op, json input) {
    auto live = start(op, std::move(input), call::Carriage::json, peer);
    EXPECT_TRUE(run_until([&] { return live->sink.done(); })) << op << " did not finish";
    return live;
  }

  // docker/container/create as `peer`; the container is removed in TearDown.
  std::string create_as(const call::Peer& peer, json input) {
    input["image"] = test_image();
    input["labels"] = kTestLabels;
    input["networkMode"] = "none";
    auto live = call_as(peer, "docker/container/create", std::move(input));
    EXPECT_FALSE(live->sink.error) << live->sink.error->message;
    if (live->sink.outputs.empty()) return "";
    const json& out = live->sink.outputs.back();
    EXPECT_TRUE(out["warnings"].is_array());
    const std::string id = out.value("id", "");
    if (!id.empty()) containers_.push_back(id);
    return id;
  }

  std::string create(json input) { return create_as(call::Peer{}, std::move(input)); }

  // The single output of a successful query/mutation.
  static json output_of(const LiveCall& live) {
    EXPECT_FALSE(live.sink.error) << live.sink.error->code << ": " << live.sink.error->message;
    EXPECT_EQ(live.sink.outputs.size(), 1u);
    return live.sink.outputs.empty() ? json() : live.sink.outputs.front();
  }

  static std::string error_code(const LiveCall& live) {
    return live.sink.error ? live.sink.error->code : "(no error)";
  }

  static call::Peer stranger(std::string id) {
    call::Peer p;
    p.id = std::move(id);
    p.is_operator = false;
    p.scopes = {"container:list", "container:inspect", "container:create",  "container:start",
                "container:stop", "container:kill",    "container:restart", "container:remove",
                "container:wait", "container:resize",  "container:stats"};
    return p;
  }

  bool list_has(const json& list, const std::string& id) {
    for (const auto& c : list) {
      if (c.value("Id", "") == id) return true;
    }
    return false;
  }
};

TEST_F(ContainerOpsTest, LifecycleCreateStartWaitInspectRemove) {
  const std::string id = create({{"command", {"sh", "-c", "sleep 1; exit 3"}},
                                 {"name", "alknet-test-lifecycle-" + std::to_string(::getpid())}});
  ASSERT_FALSE(id.empty());

  auto started = call("docker/container/start", {{"containerId", id}});
  EXPECT_EQ(output_of(*started), json({{"ok", true}, {"changed", true}}));

  // Blocks until the container exits, a second later.
  auto waited = call("docker/container/wait", {{"containerId", id}});
  EXPECT_EQ(output_of(*waited), json({{"exitCode", 3}}));

  auto inspected = call("docker/container/inspect", {{"containerId", id}});
  const json info = output_of(*inspected);
  EXPECT_EQ(info["Id"], id);
  EXPECT_EQ(info["State"]["ExitCode"], 3);
  EXPECT_EQ(info["Config"]["Labels"]["alknet.managed"], "true");
  EXPECT_EQ(info["Config"]["Labels"]["alknet.owner"], "local");
  EXPECT_EQ(info["Config"]["Labels"]["alknet-test"], "1");
  EXPECT_EQ(info["HostConfig"]["AutoRemove"], false);

  // The name works wherever an id does.
  auto by_name = call("docker/container/inspect", {{"containerId", info["Name"]}});
  EXPECT_EQ(output_of(*by_name)["Id"], id);

  auto removed = call("docker/container/remove", {{"containerId", id}});
  EXPECT_EQ(output_of(*removed), json({{"ok", true}}));
  auto gone = call("docker/container/inspect", {{"containerId", id}});
  EXPECT_EQ(error_code(*gone), "CONTAINER_NOT_FOUND");
}

TEST_F(ContainerOpsTest, StopKillRestartResize) {
  const std::string tty = create({{"command", {"sleep", "30"}}, {"tty", true}});
  const std::string plain = create({{"command", {"sleep", "30"}}});
  for (const auto& id : {tty, plain}) {
    EXPECT_EQ(output_of(*call("docker/container/start", {{"containerId", id}}))["changed"], true);
  }
  EXPECT_EQ(output_of(*call("docker/container/start", {{"containerId", tty}}))["changed"], false);

  auto resized =
      call("docker/container/resize", {{"containerId", tty}, {"cols", 100}, {"rows", 30}});
  EXPECT_EQ(output_of(*resized), json({{"ok", true}}));

  // sleep as PID 1 ignores SIGTERM: stop escalates to SIGKILL after the timeout.
  auto stopped = call("docker/container/stop", {{"containerId", tty}, {"timeout", 1}});
  EXPECT_EQ(output_of(*stopped), json({{"ok", true}, {"changed", true}}));
  auto again = call("docker/container/stop", {{"containerId", tty}, {"timeout", 1}});
  EXPECT_EQ(output_of(*again), json({{"ok", true}, {"changed", false}}));

  auto restarted = call("docker/container/restart", {{"containerId", tty}, {"timeout", 0}});
  EXPECT_EQ(output_of(*restarted), json({{"ok", true}}));
  EXPECT_EQ(sh("docker inspect -f '{{.State.Running}}' " + tty), "true");

  auto killed = call("docker/container/kill", {{"containerId", plain}, {"signal", "KILL"}});
  EXPECT_EQ(output_of(*killed), json({{"ok", true}}));
  auto waited = call("docker/container/wait", {{"containerId", plain}});
  EXPECT_EQ(output_of(*waited), json({{"exitCode", 137}}));
  // Killing a stopped container is a conflict.
  auto dead = call("docker/container/kill", {{"containerId", plain}});
  EXPECT_EQ(error_code(*dead), "CONFLICT");
}

TEST_F(ContainerOpsTest, ListOwnedOnly) {
  const std::string mine = create({{"command", {"true"}}});
  const std::string outside = create_container("true");  // docker CLI: no owner label
  ASSERT_FALSE(mine.empty());
  ASSERT_FALSE(outside.empty());

  auto everything = call("docker/container/list", {{"all", true}});
  const json all = output_of(*everything);
  ASSERT_TRUE(all.is_array());
  EXPECT_TRUE(list_has(all, mine));
  EXPECT_TRUE(list_has(all, outside));

  auto owned = call("docker/container/list", {{"all", true}, {"ownedOnly", true}});
  const json own = output_of(*owned);
  EXPECT_TRUE(list_has(own, mine));
  EXPECT_FALSE(list_has(own, outside));
  for (const auto& c : own) EXPECT_EQ(c["Labels"]["alknet.owner"], "local");

  // Caller filters still apply (ANDed with the owner filter).
  auto filtered = call("docker/container/list",
                       {{"all", true}, {"ownedOnly", true}, {"filters", {{"id", {mine}}}}});
  const json one = output_of(*filtered);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["Id"], mine);

  auto running = call("docker/container/list", {{"filters", {{"id", {mine}}}}});
  EXPECT_EQ(output_of(*running), json::array());  // created, not running
}

TEST_F(ContainerOpsTest, MissingContainerIsContainerNotFound) {
  const std::string missing = "alknet-test-no-such-container";
  for (const char* op :
       {"docker/container/inspect", "docker/container/start", "docker/container/remove",
        "docker/container/wait", "docker/container/stop", "docker/container/stats"}) {
    auto live = call(op, {{"containerId", missing}});
    EXPECT_EQ(error_code(*live), "CONTAINER_NOT_FOUND") << op;
    EXPECT_FALSE(live->sink.error->retryable);
  }
}

TEST_F(ContainerOpsTest, RemovingARunningContainerIsAConflict) {
  const std::string id = create({{"command", {"sleep", "30"}}});
  output_of(*call("docker/container/start", {{"containerId", id}}));

  auto refused = call("docker/container/remove", {{"containerId", id}});
  EXPECT_EQ(error_code(*refused), "CONFLICT");
  EXPECT_EQ(refused->sink.error->details["status"], 409);

  auto forced = call("docker/container/remove", {{"containerId", id}, {"force", true}});
  EXPECT_EQ(output_of(*forced), json({{"ok", true}}));
  EXPECT_EQ(sh("docker inspect " + id + " >/dev/null 2>&1 && echo present || echo gone"), "gone");
}

TEST_F(ContainerOpsTest, BadInputNamesTheField) {
  auto no_image = call("docker/container/create", {{"command", {"true"}}});
  ASSERT_EQ(error_code(*no_image), "INVALID_INPUT");
  EXPECT_EQ(no_image->sink.error->details["field"], "image");

  auto string_command =
      call("docker/container/create", {{"image", test_image()}, {"command", "echo hi"}});
  ASSERT_EQ(error_code(*string_command), "INVALID_INPUT");
  EXPECT_EQ(string_command->sink.error->details["field"], "command");
  EXPECT_NE(string_command->sink.error->message.find("command"), std::string::npos);

  auto misspelt = call("docker/container/start", {{"containerId", "x"}, {"timout", 1}});
  ASSERT_EQ(error_code(*misspelt), "INVALID_INPUT");
  EXPECT_EQ(misspelt->sink.error->details["field"], "timout");

  auto steering = call("docker/container/inspect", {{"containerId", "../../images/json"}});
  ASSERT_EQ(error_code(*steering), "INVALID_INPUT");
  EXPECT_EQ(steering->sink.error->details["field"], "containerId");

  auto forged = call("docker/container/create",
                     {{"image", test_image()}, {"labels", {{"alknet.owner", "someone"}}}});
  ASSERT_EQ(error_code(*forged), "INVALID_INPUT");
  EXPECT_EQ(forged->sink.error->details["field"], "labels.alknet.owner");

  auto no_such_image = call("docker/container/create", {{"image", "alknet-test/no-such-image:1"}});
  EXPECT_EQ(error_code(*no_such_image), "IMAGE_NOT_FOUND");
}

TEST_F(ContainerOpsTest, StatsOneShotAndStreamed) {
  const std::string id = create({{"command", {"sleep", "30"}}});
  output_of(*call("docker/container/start", {{"containerId", id}}));

  auto once = call("docker/container/stats", {{"containerId", id}, {"stream", false}});
  EXPECT_FALSE(once->sink.error);
  EXPECT_TRUE(once->sink.completed);
  ASSERT_EQ(once->sink.outputs.size(), 1u);
  EXPECT_TRUE(once->sink.outputs[0].contains("memory_stats"));

  auto live = start("docker/container/stats", {{"containerId", id}});
  ASSERT_TRUE(run_until([&] { return live->sink.outputs.size() >= 2 || live->sink.done(); }));
  EXPECT_FALSE(live->sink.done());
  EXPECT_EQ(live->sink.outputs[0]["id"], id);

  // Backpressure: a congested sink pauses the daemon's stream; nothing is lost or reordered.
  live->sink.congested = true;
  const size_t before = live->sink.outputs.size();
  run_until([] { return false; }, std::chrono::milliseconds(2500));
  EXPECT_LE(live->sink.outputs.size(), before + 1);  // at most the rest of one read
  live->sink.congested = false;
  live->handler->on_writable();
  ASSERT_TRUE(run_until([&] { return live->sink.outputs.size() >= before + 2; }));

  live->handler->cancel();
  live->handler.reset();
  EXPECT_TRUE(
      run_until([&] { return engine_->docker().stats().busy == 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(live->sink.terminal_count, 0);  // cancelled: nothing more is sent
}

TEST_F(ContainerOpsTest, NonOperatorTouchesOnlyWhatItOwns) {
  const call::Peer alice = stranger("SHA256:alice");
  const std::string theirs = create({{"command", {"sleep", "30"}}});  // owned by "local"
  const std::string outside = create_container("true");               // no owner label at all

  for (const auto& id : {theirs, outside}) {
    for (const char* op :
         {"docker/container/inspect", "docker/container/start", "docker/container/remove",
          "docker/container/wait", "docker/container/stats", "docker/container/kill"}) {
      auto live = call_as(alice, op, {{"containerId", id}});
      ASSERT_EQ(error_code(*live), "FORBIDDEN") << op;
      EXPECT_EQ(live->sink.error->message, "not owner of resource: container/" + id);
      EXPECT_TRUE(live->sink.error->details.is_null());  // nothing about the container leaks
      EXPECT_TRUE(live->sink.outputs.empty());
    }
  }
  // The refused start changed nothing.
  EXPECT_EQ(sh("docker inspect -f '{{.State.Status}}' " + theirs), "created");

  // A missing container looks the same as another peer's (no existence oracle); an operator
  // still gets CONTAINER_NOT_FOUND.
  auto missing = call_as(alice, "docker/container/inspect", {{"containerId", "alknet-test-nope"}});
  EXPECT_EQ(error_code(*missing), "FORBIDDEN");
  EXPECT_EQ(missing->sink.error->message, "not owner of resource: container/alknet-test-nope");

  // What alice creates is hers, by id and by name.
  const std::string name = "alknet-test-alice-" + std::to_string(::getpid());
  const std::string mine = create_as(alice, {{"command", {"sh", "-c", "exit 5"}}, {"name", name}});
  ASSERT_FALSE(mine.empty());
  EXPECT_EQ(sh("docker inspect -f '{{index .Config.Labels \"alknet.owner\"}}' " + mine),
            "SHA256:alice");
  EXPECT_EQ(output_of(*call_as(alice, "docker/container/start", {{"containerId", name}}))["ok"],
            true);
  EXPECT_EQ(output_of(*call_as(alice, "docker/container/wait", {{"containerId", mine}})),
            json({{"exitCode", 5}}));
  EXPECT_EQ(output_of(*call_as(alice, "docker/container/inspect", {{"containerId", name}}))["Id"],
            mine);

  // Her list shows only her containers, whatever she asks.
  auto listed = call_as(alice, "docker/container/list", {{"all", true}, {"ownedOnly", false}});
  const json list = output_of(*listed);
  EXPECT_TRUE(list_has(list, mine));
  EXPECT_FALSE(list_has(list, theirs));
  EXPECT_FALSE(list_has(list, outside));

  // The create policy applies to her.
  auto privileged =
      call_as(alice, "docker/container/create", {{"image", test_image()}, {"privileged", true}});
  ASSERT_EQ(error_code(*privileged), "FORBIDDEN");
  EXPECT_EQ(privileged->sink.error->message,
            "privileged: missing required scope: container:privileged");
  auto host_bind = call_as(alice, "docker/container/create",
                           {{"image", test_image()}, {"binds", {"/etc:/host-etc"}}});
  ASSERT_EQ(error_code(*host_bind), "FORBIDDEN");
  EXPECT_EQ(host_bind->sink.error->details["field"], "binds[0]");

  auto removed = call_as(alice, "docker/container/remove", {{"containerId", name}});
  EXPECT_EQ(output_of(*removed), json({{"ok", true}}));
}

TEST_F(ContainerOpsTest, NonOperatorWithoutTheScopeIsRefusedBeforeDocker) {
  call::Peer bob = stranger("SHA256:bob");
  bob.scopes = {"container:inspect"};
  auto live = call_as(bob, "docker/container/remove", {{"containerId", "anything"}});
  ASSERT_EQ(error_code(*live), "FORBIDDEN");
  EXPECT_NE(live->sink.error->message.find("container:remove"), std::string::npos);
}

}  // namespace
}  // namespace alk::test

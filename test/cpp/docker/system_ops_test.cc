// docker/system/* against the real daemon: ping, version, info, the events subscription (live,
// bounded by until, and filtered to a non-operator's own containers), and a dead daemon socket.
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>

#include "support/engine_fixture.h"

namespace alk::test {
namespace {

using nlohmann::json;

class SystemOpsTest : public EngineFixture {
 protected:
  // Whether `events` holds `action` (e.g. "start", "die") for container `id`.
  static bool saw(const std::vector<json>& events, const std::string& id,
                  const std::string& action) {
    for (const auto& e : events) {
      if (e.value("Type", "") == "container" && e.value("Action", "") == action &&
          e["Actor"].value("ID", "") == id) {
        return true;
      }
    }
    return false;
  }

  static bool any_event_of(const std::vector<json>& events, const std::string& id) {
    for (const auto& e : events) {
      if (e.contains("Actor") && e["Actor"].value("ID", "") == id) return true;
    }
    return false;
  }

  // Runs a container to its exit through the docker CLI.
  std::string run_to_exit(const std::string& flags = "") {
    const std::string id = create_container("sh -c 'exit 0'", flags);
    sh("docker start -a " + id + " >/dev/null");
    return id;
  }
};

TEST_F(SystemOpsTest, PingVersionInfo) {
  auto ping = call("docker/system/ping", json::object());
  ASSERT_FALSE(ping->sink.error) << ping->sink.error->message;
  ASSERT_EQ(ping->sink.outputs.size(), 1u);
  EXPECT_EQ(ping->sink.outputs[0]["ok"], true);
  EXPECT_EQ(ping->sink.outputs[0]["apiVersion"], sh("docker version -f '{{.Server.APIVersion}}'"));

  auto version = call("docker/system/version", json::object());
  ASSERT_FALSE(version->sink.error);
  EXPECT_TRUE(version->sink.outputs.at(0).contains("ApiVersion"));
  EXPECT_EQ(version->sink.outputs[0]["Version"], sh("docker version -f '{{.Server.Version}}'"));

  auto info = call("docker/system/info", json::object());
  ASSERT_FALSE(info->sink.error);
  EXPECT_TRUE(info->sink.outputs.at(0).contains("Containers"));

  auto extra = call("docker/system/info", {{"verbose", true}});
  ASSERT_TRUE(extra->sink.error);
  EXPECT_EQ(extra->sink.error->code, "INVALID_INPUT");
}

TEST_F(SystemOpsTest, EventsSeeStartAndDieThenCancelLeavesNothing) {
  // since: one second back, so nothing between subscribing and starting can be missed.
  const auto since = static_cast<int64_t>(std::time(nullptr)) - 1;
  auto live = start("docker/system/events", {{"since", since}, {"type", "container"}});
  ASSERT_FALSE(live->sink.done()) << live->sink.error->message;

  const std::string id = run_to_exit();
  ASSERT_TRUE(run_until([&] {
    return live->sink.done() ||
           (saw(live->sink.outputs, id, "start") && saw(live->sink.outputs, id, "die"));
  })) << "start/die of "
      << id << " not seen";
  EXPECT_FALSE(live->sink.done());
  for (const auto& e : live->sink.outputs) EXPECT_EQ(e["Type"], "container");

  live->handler->cancel();
  live->handler.reset();
  EXPECT_TRUE(
      run_until([&] { return engine_->docker().stats().busy == 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(live->sink.terminal_count, 0);
}

TEST_F(SystemOpsTest, EventsWithUntilCompleteByThemselves) {
  const auto since = static_cast<int64_t>(std::time(nullptr)) - 1;
  const std::string id = run_to_exit();
  const auto until = static_cast<int64_t>(std::time(nullptr)) + 1;
  auto live = call("docker/system/events",
                   {{"since", since}, {"until", until}, {"filters", {{"container", {id}}}}},
                   std::chrono::seconds(15));
  ASSERT_FALSE(live->sink.error) << live->sink.error->message;
  EXPECT_TRUE(live->sink.completed);
  EXPECT_TRUE(saw(live->sink.outputs, id, "create"));
  EXPECT_TRUE(saw(live->sink.outputs, id, "die"));
  for (const auto& e : live->sink.outputs) EXPECT_EQ(e["Actor"]["ID"], id);

  auto bad = call("docker/system/events", {{"since", "yesterday-ish"}});
  ASSERT_TRUE(bad->sink.error);
  EXPECT_EQ(bad->sink.error->code, "INVALID_INPUT");
  EXPECT_EQ(bad->sink.error->details["field"], "since");
}

TEST_F(SystemOpsTest, NonOperatorSeesOnlyItsOwnContainersEvents) {
  call::Peer carol;
  carol.id = "SHA256:carol";
  carol.is_operator = false;
  carol.scopes = {"system:events"};

  const auto since = static_cast<int64_t>(std::time(nullptr)) - 1;
  const std::string hers = run_to_exit("--label alknet.owner=SHA256:carol");
  const std::string other = run_to_exit("--label alknet.owner=SHA256:dave");
  const auto until = static_cast<int64_t>(std::time(nullptr)) + 1;

  auto live = start("docker/system/events", {{"since", since}, {"until", until}},
                    call::Carriage::json, carol);
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(15)));
  ASSERT_FALSE(live->sink.error) << live->sink.error->message;
  EXPECT_TRUE(saw(live->sink.outputs, hers, "start"));
  EXPECT_FALSE(any_event_of(live->sink.outputs, other));
  for (const auto& e : live->sink.outputs) {
    EXPECT_EQ(e["Actor"]["Attributes"]["alknet.owner"], "SHA256:carol") << e.dump();
  }

  // An operator sees both.
  auto all =
      call("docker/system/events", {{"since", since}, {"until", until}}, std::chrono::seconds(15));
  EXPECT_TRUE(saw(all->sink.outputs, hers, "start"));
  EXPECT_TRUE(saw(all->sink.outputs, other, "start"));
}

TEST_F(SystemOpsTest, DeadDaemonSocketIsRetryableDockerUnavailable) {
  auto endpoint = docker::parse_docker_host("unix:///tmp/nonexistent.sock");
  ASSERT_TRUE(endpoint.ok());
  ops::EngineOptions options;
  options.endpoint = endpoint.value();
  auto dead = std::make_unique<ops::Engine>(&loop_, options);

  for (const char* op : {"docker/system/ping", "docker/system/events"}) {
    RecordingSink sink;
    sink.kind = dead->registry().find(op)->kind;
    call::CallRequest req;
    req.id = "dead";
    req.operation = op;
    req.input = json::object();
    auto handler = dead->registry().prepare(req, sink);
    ASSERT_TRUE(handler.ok());
    const uint64_t t0 = uv_hrtime();
    handler.value()->start();
    ASSERT_TRUE(run_until([&] { return sink.done(); }, std::chrono::seconds(1))) << op;
    EXPECT_LT((uv_hrtime() - t0) / 1000000, 1000u);
    ASSERT_TRUE(sink.error) << op;
    EXPECT_EQ(sink.error->code, "DOCKER_UNAVAILABLE") << op;
    EXPECT_TRUE(sink.error->retryable);
    EXPECT_NE(sink.error->message.find("unavailable"), std::string::npos);
  }

  bool closed = false;
  dead->close([&] { closed = true; });
  ASSERT_TRUE(run_until([&] { return closed; }, std::chrono::seconds(5)));
  dead.reset();
}

}  // namespace
}  // namespace alk::test

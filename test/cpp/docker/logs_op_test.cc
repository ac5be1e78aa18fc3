// docker/container/logs against the real daemon: exact content of large logs, follow before start,
// TTY logs, timestamps, a missing container, backpressure and cancel.
#include <gtest/gtest.h>

#include <regex>

#include "support/engine_fixture.h"
#include "support/numbered_lines.h"

namespace alk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class LogsOp : public EngineFixture {
 protected:
  // A container that printed numbered_lines(n) and exited.
  std::string exited_container(size_t n) {
    const std::string id = create_container("awk '" + numbered_lines_awk(n) + "'");
    sh("docker start " + id + " >/dev/null && docker wait " + id + " >/dev/null");
    return id;
  }

  // Runs the loop for `d` whatever happens.
  void spin(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }
};

TEST_F(LogsOp, TenMegabytesOfLinesArriveWhole) {
  const size_t n = 112000;  // 10.5 MB
  const std::string id = exited_container(n);
  auto live = call("docker/container/logs", {{"containerId", id}}, 120s);
  ASSERT_TRUE(live->sink.completed) << (live->sink.error ? live->sink.error->message : "");
  const std::string got = live->sink.text_of("stdout");
  EXPECT_EQ(got.size(), n * kNumberedLineBytes);
  EXPECT_TRUE(got == numbered_lines(n)) << "content differs";
  // One event per log entry (docker frame): here, one per line.
  EXPECT_EQ(live->sink.outputs.size(), n);
  EXPECT_TRUE(live->sink.text_of("stderr").empty());
}

TEST_F(LogsOp, FollowStartedBeforeStartGetsEverything) {
  const size_t n = 3000;
  const std::string id = create_container("awk '" + numbered_lines_awk(n) + "'");
  auto live = start("docker/container/logs", {{"containerId", id}, {"follow", true}});
  spin(300ms);
  EXPECT_FALSE(live->sink.done()) << "a follow on a created container must wait for its start";
  sh("docker start " + id + " >/dev/null");
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  ASSERT_TRUE(live->sink.completed) << (live->sink.error ? live->sink.error->message : "");
  EXPECT_TRUE(live->sink.text_of("stdout") == numbered_lines(n));
}

TEST_F(LogsOp, FollowEndsWhenTheContainerStops) {
  const std::string id = create_container("sh -c 'echo first; sleep 1; echo second'");
  sh("docker start " + id + " >/dev/null");
  auto live = call("docker/container/logs", {{"containerId", id}, {"follow", true}}, 30s);
  ASSERT_TRUE(live->sink.completed);
  EXPECT_EQ(live->sink.text_of("stdout"), "first\nsecond\n");
}

TEST_F(LogsOp, TtyLogsArriveUnframed) {
  const std::string id =
      create_container(R"(sh -c "printf 'hello\nwörld\n'; printf 'err\n' >&2")", "-t");
  sh("docker start " + id + " >/dev/null && docker wait " + id + " >/dev/null");
  auto live = call("docker/container/logs", {{"containerId", id}});
  ASSERT_TRUE(live->sink.completed) << (live->sink.error ? live->sink.error->message : "");
  // The TTY merges stderr into one stream and turns \n into \r\n; no framing bytes survive.
  EXPECT_EQ(live->sink.text_of("stdout"), "hello\r\nwörld\r\nerr\r\n");
  for (const auto& o : live->sink.outputs) EXPECT_TRUE(o.contains("text")) << o.dump();
}

TEST_F(LogsOp, TimestampsAreSplit) {
  const std::string id = create_container("sh -c 'echo a; echo b >&2'");
  sh("docker start " + id + " >/dev/null && docker wait " + id + " >/dev/null");
  auto live = call("docker/container/logs", {{"containerId", id}, {"timestamps", true}});
  ASSERT_TRUE(live->sink.completed);
  ASSERT_EQ(live->sink.outputs.size(), 2u);
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)");
  for (const auto& o : live->sink.outputs) {
    ASSERT_TRUE(o.contains("timestamp")) << o.dump();
    EXPECT_TRUE(std::regex_match(o["timestamp"].get<std::string>(), rfc3339)) << o.dump();
  }
  EXPECT_EQ(live->sink.text_of("stdout"), "a\n");
  EXPECT_EQ(live->sink.text_of("stderr"), "b\n");
}

TEST_F(LogsOp, TailAndStreamSelection) {
  const std::string id = exited_container(10);
  auto live = call("docker/container/logs", {{"containerId", id}, {"tail", 3}, {"stderr", false}});
  ASSERT_TRUE(live->sink.completed);
  EXPECT_EQ(live->sink.text_of("stdout"), numbered_lines(10).substr(7 * kNumberedLineBytes));
  auto all = call("docker/container/logs", {{"containerId", id}, {"tail", "all"}});
  EXPECT_TRUE(all->sink.text_of("stdout") == numbered_lines(10));
}

TEST_F(LogsOp, BadInputNamesTheField) {
  auto tail = call("docker/container/logs", {{"containerId", "x"}, {"tail", "some"}});
  ASSERT_TRUE(tail->sink.error);
  EXPECT_EQ(tail->sink.error->code, "INVALID_INPUT");
  EXPECT_NE(tail->sink.error->message.find("tail"), std::string::npos);
  auto since = call("docker/container/logs", {{"containerId", "x"}, {"since", "yesterday"}});
  ASSERT_TRUE(since->sink.error);
  EXPECT_NE(since->sink.error->message.find("since"), std::string::npos);
  auto typo = call("docker/container/logs", {{"containerId", "x"}, {"folow", true}});
  ASSERT_TRUE(typo->sink.error);
  EXPECT_EQ(typo->sink.error->code, "INVALID_INPUT");
  auto path = call("docker/container/logs", {{"containerId", "../images/json"}});
  ASSERT_TRUE(path->sink.error);
  EXPECT_EQ(path->sink.error->code, "INVALID_INPUT");
}

TEST_F(LogsOp, MissingContainerIsContainerNotFound) {
  auto live = call("docker/container/logs", {{"containerId", "alknet-test-no-such-container"}});
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "CONTAINER_NOT_FOUND");
  EXPECT_FALSE(live->sink.completed);
}

TEST_F(LogsOp, BackpressurePausesTheStreamThenCompletesExactly) {
  const size_t n = 40000;  // ~3.8 MB: many socket reads
  const std::string id = exited_container(n);
  auto live = start("docker/container/logs", {{"containerId", id}});
  live->sink.congested = true;
  ASSERT_TRUE(run_until([&] { return !live->sink.outputs.empty(); }));
  spin(200ms);
  const size_t held = live->sink.outputs.size();
  spin(400ms);
  EXPECT_EQ(live->sink.outputs.size(), held) << "the stream kept flowing while congested";
  EXPECT_LT(held, n);
  EXPECT_FALSE(live->sink.done());
  live->sink.congested = false;
  live->handler->on_writable();
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  ASSERT_TRUE(live->sink.completed);
  EXPECT_TRUE(live->sink.text_of("stdout") == numbered_lines(n));
}

TEST_F(LogsOp, CancelReleasesTheConnection) {
  const std::string id = create_container("sh -c 'while true; do echo tick; sleep 0.1; done'");
  sh("docker start " + id + " >/dev/null");
  auto live = start("docker/container/logs", {{"containerId", id}, {"follow", true}});
  ASSERT_TRUE(run_until([&] { return !live->sink.outputs.empty(); }));
  live->handler->cancel();
  live->handler.reset();
  spin(50ms);
  const auto stats = engine_->docker().stats();
  EXPECT_EQ(stats.busy, 0u);
  EXPECT_EQ(stats.hijacked, 0u);
  EXPECT_FALSE(live->sink.done());
}

}  // namespace
}  // namespace alk::test

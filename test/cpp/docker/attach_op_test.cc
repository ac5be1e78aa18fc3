// docker/container/attach against the real daemon: a 16 MiB stdin→stdout round trip with input
// backpressure, the exit code last, resize of a TTY, signals, cancel, refusals.
#include <gtest/gtest.h>

#include "support/engine_fixture.h"
#include "support/numbered_lines.h"

namespace alk::test {
namespace {

using nlohmann::json;

class AttachOpTest : public EngineFixture {
 protected:
  // Attaches (raw carriage) and runs the loop until the connection switched.
  std::unique_ptr<LiveCall> attach(json input) {
    auto live = start("docker/container/attach", std::move(input), call::Carriage::raw);
    EXPECT_TRUE(run_until([&] { return live->sink.raw_started || live->sink.done(); }));
    EXPECT_TRUE(live->sink.raw_started) << (live->sink.error ? live->sink.error->message : "");
    return live;
  }

  // Feeds `bytes` as stdin in `piece`-sized chunks, honouring the sink's input pause and giving
  // the loop a turn between pieces.
  void feed(LiveCall& live, std::string_view bytes, size_t piece = 64 * 1024) {
    for (size_t off = 0; off < bytes.size(); off += piece) {
      ASSERT_TRUE(run_until([&] { return !live.sink.input_paused || live.sink.done(); }));
      ASSERT_FALSE(live.sink.done());
      live.handler->on_stdin(bytes.substr(off, piece));
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
  }

  void pause(std::chrono::milliseconds ms) {
    run_until([] { return false; }, ms);
  }
};

TEST_F(AttachOpTest, SixteenMiBRoundTripThenExitCodeLast) {
  // -i: OpenStdin + StdinOnce, so the end of our stdin closes cat's.
  const std::string id = create_container("cat", "-i");
  auto live = attach({{"containerId", id}});
  ASSERT_TRUE(live->sink.raw_started);
  EXPECT_FALSE(live->sink.tty);
  sh("docker start " + id + " >/dev/null");

  const std::string bytes = pseudo_random_bytes(size_t{16} << 20);
  feed(*live, bytes);
  live->handler->on_stdin_end();
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(120)))
      << "stdout so far: " << live->sink.raw_stdout.size();
  EXPECT_FALSE(live->sink.error);
  EXPECT_EQ(live->sink.raw_stdout.size(), bytes.size());
  EXPECT_TRUE(live->sink.raw_stdout == bytes) << "stdout differs from stdin";
  EXPECT_EQ(live->sink.exit_code, 0);
  // The exit chunk came after the last byte of output.
  EXPECT_EQ(live->sink.raw_stdout_at_exit, bytes.size());
  EXPECT_EQ(live->sink.terminal_count, 1);
  EXPECT_EQ(engine_->docker().stats().hijacked, 0u);
}

TEST_F(AttachOpTest, RunningContainerExitCodeAndStderr) {
  const std::string id =
      create_container("sh -c 'read x; echo got $x; echo oops >&2; exit 5'", "-i");
  sh("docker start " + id + " >/dev/null");
  auto live = attach({{"containerId", id}});
  live->handler->on_stdin("hi\n");
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(20)));
  EXPECT_EQ(live->sink.raw_stdout, "got hi\n");
  EXPECT_EQ(live->sink.raw_stderr, "oops\n");
  EXPECT_EQ(live->sink.exit_code, 5);
}

TEST_F(AttachOpTest, ResizeReachesTheTty) {
  const std::string id = create_container("sh -c 'read x; stty size'", "-it");
  auto live = attach({{"containerId", id}});
  ASSERT_TRUE(live->sink.raw_started);
  EXPECT_TRUE(live->sink.tty);
  sh("docker start " + id + " >/dev/null");
  live->handler->on_control({{"type", "resize"}, {"cols", 123}, {"rows", 45}});
  pause(std::chrono::milliseconds(500));
  live->handler->on_stdin("go\n");
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(20)))
      << live->sink.raw_stdout;
  EXPECT_NE(live->sink.raw_stdout.find("45 123"), std::string::npos) << live->sink.raw_stdout;
  EXPECT_EQ(live->sink.exit_code, 0);
}

TEST_F(AttachOpTest, SignalReachesTheContainer) {
  const std::string id = create_container(
      "sh -c 'trap \"echo caught; exit 9\" INT; echo ready; while true; do sleep 0.1; done'", "-i");
  sh("docker start " + id + " >/dev/null");
  auto live = attach({{"containerId", id}, {"stdin", false}});
  // The trap is set before "ready"; the attach may come after it was printed, so just wait.
  pause(std::chrono::milliseconds(300));
  live->handler->on_control({{"type", "signal"}, {"name", "INT"}});
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(20)));
  EXPECT_NE(live->sink.raw_stdout.find("caught"), std::string::npos) << live->sink.raw_stdout;
  EXPECT_EQ(live->sink.exit_code, 9);
}

TEST_F(AttachOpTest, UnknownControlIsIgnored) {
  const std::string id = create_container("cat", "-i");
  sh("docker start " + id + " >/dev/null");
  auto live = attach({{"containerId", id}});
  live->handler->on_control({{"type", "telepathy"}});
  live->handler->on_control({{"type", "resize"}, {"cols", "wide"}, {"rows", -1}});
  live->handler->on_control({{"type", "signal"}, {"name", "NOPE"}});
  live->handler->on_stdin("still here\n");
  live->handler->on_stdin_end();
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(20)));
  EXPECT_EQ(live->sink.raw_stdout, "still here\n");
  EXPECT_EQ(live->sink.exit_code, 0);
}

TEST_F(AttachOpTest, CancelMidAttachLeavesNoHijackedConnection) {
  const std::string id = create_container("cat", "-i");
  sh("docker start " + id + " >/dev/null");
  auto live = attach({{"containerId", id}});
  live->handler->on_stdin("abc");
  ASSERT_TRUE(run_until([&] { return live->sink.raw_stdout == "abc"; }));
  EXPECT_EQ(engine_->docker().stats().hijacked, 1u);
  live->handler->cancel();
  live->handler.reset();
  for (int i = 0; i < 5; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  run_until([&] { return engine_->docker().stats().hijacked == 0; }, std::chrono::seconds(5));
  EXPECT_EQ(engine_->docker().stats().hijacked, 0u);
  EXPECT_EQ(engine_->docker().stats().busy, 0u);  // the wait is gone too
  EXPECT_EQ(live->sink.terminal_count, 0);
  EXPECT_FALSE(live->sink.exit_code);
}

TEST_F(AttachOpTest, MissingContainerIsContainerNotFound) {
  auto live = start("docker/container/attach", {{"containerId", "alknet-no-such-container-4711"}},
                    call::Carriage::raw);
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "CONTAINER_NOT_FOUND");
  EXPECT_FALSE(live->sink.raw_started);
}

TEST_F(AttachOpTest, JsonCarriageIsRefused) {
  auto live = start("docker/container/attach", {{"containerId", "whatever"}});
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "INVALID_OPERATION_TYPE");
}

TEST_F(AttachOpTest, NoStreamAtAllIsInvalidInput) {
  auto live =
      start("docker/container/attach",
            {{"containerId", "whatever"}, {"stdin", false}, {"stdout", false}, {"stderr", false}},
            call::Carriage::raw);
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "INVALID_INPUT");
}

TEST_F(AttachOpTest, NonOperatorAttachesOnlyToItsOwnContainers) {
  call::Peer alice;
  alice.id = "SHA256:alice";
  alice.is_operator = false;
  alice.scopes = {"container:attach"};
  const std::string hers = create_container("cat", "-i --label alknet.owner=SHA256:alice");
  const std::string other = create_container("cat", "-i");

  auto refused =
      start("docker/container/attach", {{"containerId", other}}, call::Carriage::raw, alice);
  ASSERT_TRUE(run_until([&] { return refused->sink.done(); }));
  ASSERT_TRUE(refused->sink.error);
  EXPECT_EQ(refused->sink.error->code, "FORBIDDEN");
  EXPECT_FALSE(refused->sink.raw_started);

  auto allowed =
      start("docker/container/attach", {{"containerId", hers}}, call::Carriage::raw, alice);
  ASSERT_TRUE(run_until([&] { return allowed->sink.raw_started || allowed->sink.done(); }));
  ASSERT_TRUE(allowed->sink.raw_started);
  sh("docker start " + hers + " >/dev/null");
  allowed->handler->on_stdin("mine\n");
  allowed->handler->on_stdin_end();
  ASSERT_TRUE(run_until([&] { return allowed->sink.done(); }));
  EXPECT_EQ(allowed->sink.raw_stdout, "mine\n");
  EXPECT_EQ(allowed->sink.exit_code, 0);
}

}  // namespace
}  // namespace alk::test

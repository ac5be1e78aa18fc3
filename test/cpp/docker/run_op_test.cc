// docker/container/run against the real daemon: large output then the exit code, containers that
// exit at once, cancel, autoRemove, TTY, and failures.
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/engine_fixture.h"
#include "support/numbered_lines.h"

namespace alk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class RunOp : public EngineFixture {
 protected:
  // The run input for `command` on the test image, with no network and a test label.
  json run_input(json command, json extra = json::object()) {
    json input = {{"image", test_image()},
                  {"command", std::move(command)},
                  {"networkMode", "none"},
                  {"labels", {{"alknet-test", label_}}}};
    input.update(extra);
    return input;
  }

  // The id from the first event; registered for removal in TearDown.
  std::string id_of(const LiveCall& live) {
    if (live.sink.outputs.empty() || !live.sink.outputs[0].contains("containerId")) return {};
    std::string id = live.sink.outputs[0]["containerId"];
    containers_.push_back(id);
    return id;
  }

  bool container_exists(const std::string& id) {
    return !sh("docker ps -aq --no-trunc --filter id=" + id).empty();
  }

  // Containers carrying this test's label (any state).
  std::string labelled_containers() {
    return sh("docker ps -aq --filter label=alknet-test=" + label_);
  }

  // Runs the loop until background requests are answered and no docker connection is in use.
  bool settle() {
    return run_until(
        [&] {
          const auto s = engine_->docker().stats();
          return engine_->services().background->pending() == 0 && s.busy == 0 && s.hijacked == 0;
        },
        20s);
  }

  void expect_terminal(const LiveCall& live, int code) {
    ASSERT_TRUE(live.sink.completed) << (live.sink.error ? live.sink.error->message : "not done");
    ASSERT_FALSE(live.sink.outputs.empty());
    EXPECT_EQ(live.sink.outputs.back(), (json{{"exitCode", code}, {"terminal", true}}));
  }

  const std::string label_ = "run-" + std::to_string(::getpid());
};

TEST_F(RunOp, TenMegabytesThenExitCodeThenRemoved) {
  const size_t n = 112000;
  auto live = call("docker/container/run", run_input({"awk", numbered_lines_awk(n, 3)}), 120s);
  const std::string id = id_of(*live);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(live->sink.outputs[0]["status"], "created");
  expect_terminal(*live, 3);
  const std::string got = live->sink.text_of("stdout");
  EXPECT_EQ(got.size(), n * kNumberedLineBytes);
  EXPECT_TRUE(got == numbered_lines(n)) << "content differs";
  EXPECT_FALSE(container_exists(id)) << "autoRemove (the default) left the container";
}

TEST_F(RunOp, ExitWithinAMillisecondLosesNothing) {
  for (int i = 0; i < 20; ++i) {
    auto live = call("docker/container/run", run_input({"sh", "-c", "echo hi; exit 5"}));
    id_of(*live);
    expect_terminal(*live, 5);
    EXPECT_EQ(live->sink.text_of("stdout"), "hi\n") << "run " << i;
  }
  EXPECT_TRUE(labelled_containers().empty());
}

TEST_F(RunOp, StdoutAndStderrStaySeparate) {
  auto live = call("docker/container/run",
                   run_input({"sh", "-c", "echo out; echo err >&2; echo out2; exit 1"}));
  id_of(*live);
  expect_terminal(*live, 1);
  EXPECT_EQ(live->sink.text_of("stdout"), "out\nout2\n");
  EXPECT_EQ(live->sink.text_of("stderr"), "err\n");
}

TEST_F(RunOp, TtyOutputIsRaw) {
  auto live = call("docker/container/run",
                   run_input({"sh", "-c", "printf 'a\\nb\\n'; exit 2"}, {{"tty", true}}));
  id_of(*live);
  expect_terminal(*live, 2);
  EXPECT_EQ(live->sink.text_of("stdout"), "a\r\nb\r\n");
}

TEST_F(RunOp, StdinIsClosed) {
  // A process that reads stdin must see EOF at once, even when openStdin was asked for.
  auto live = call("docker/container/run",
                   run_input({"sh", "-c", "cat; echo done"}, {{"openStdin", true}}), 30s);
  id_of(*live);
  expect_terminal(*live, 0);
  EXPECT_EQ(live->sink.text_of("stdout"), "done\n");
}

TEST_F(RunOp, AutoRemoveFalseKeepsTheContainer) {
  auto live =
      call("docker/container/run", run_input({"sh", "-c", "exit 4"}, {{"autoRemove", false}}));
  const std::string id = id_of(*live);
  expect_terminal(*live, 4);
  EXPECT_EQ(sh("docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' " + id), "exited 4");
  EXPECT_EQ(sh("docker inspect -f '{{index .Config.Labels \"alknet.managed\"}}' " + id), "true");
}

TEST_F(RunOp, CancelKillsAndRemovesTheContainer) {
  auto live = start("docker/container/run",
                    run_input({"sh", "-c", "while true; do echo tick; sleep 0.1; done"}));
  ASSERT_TRUE(run_until([&] { return !live->sink.text_of("stdout").empty(); }));
  const std::string id = id_of(*live);
  ASSERT_FALSE(id.empty());
  live->handler->cancel();
  live->handler.reset();
  ASSERT_TRUE(settle()) << "docker connections or background requests left";
  EXPECT_FALSE(container_exists(id));
  EXPECT_FALSE(live->sink.done());
}

TEST_F(RunOp, CancelDuringCreateStillRemovesTheContainer) {
  auto live = start("docker/container/run", run_input({"sleep", "60"}));
  // The create request is in flight: the handler goes away before the daemon answers.
  live->handler->cancel();
  live->handler.reset();
  ASSERT_TRUE(settle());
  EXPECT_TRUE(labelled_containers().empty());
}

TEST_F(RunOp, DestroyWhileRunningRemovesTheContainer) {
  auto live = start("docker/container/run", run_input({"sleep", "60"}));
  ASSERT_TRUE(run_until([&] { return !live->sink.outputs.empty(); }));
  const std::string id = id_of(*live);
  ASSERT_TRUE(
      run_until([&] { return sh("docker inspect -f '{{.State.Running}}' " + id) == "true"; }));
  live->handler.reset();  // no cancel(): the destructor alone must clean up
  ASSERT_TRUE(settle());
  EXPECT_FALSE(container_exists(id));
}

TEST_F(RunOp, MissingImageIsImageNotFound) {
  auto live = call("docker/container/run",
                   {{"image", "alknet-test/no-such-image:latest"}, {"command", {"true"}}});
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "IMAGE_NOT_FOUND");
  EXPECT_TRUE(live->sink.outputs.empty());
}

TEST_F(RunOp, StartFailureFailsAndRemoves) {
  auto live = call("docker/container/run", run_input({"/no/such/binary"}));
  const std::string id = id_of(*live);
  ASSERT_TRUE(live->sink.error);
  EXPECT_FALSE(live->sink.completed);
  ASSERT_TRUE(settle());
  EXPECT_FALSE(container_exists(id));
}

TEST_F(RunOp, MisspeltFieldIsInvalidInput) {
  auto live = call("docker/container/run", {{"image", test_image()}, {"autoremove", true}});
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "INVALID_INPUT");
  EXPECT_NE(live->sink.error->message.find("autoremove"), std::string::npos);
}

}  // namespace
}  // namespace alk::test

// docker/container/exec against the real daemon: JSON carriage (output events, exit code last),
// raw carriage (stdin round trip, TTY, resize), and the refusals.
#include <gtest/gtest.h>

#include "support/engine_fixture.h"

namespace alk::test {
namespace {

using nlohmann::json;

class ExecOpTest : public EngineFixture {
 protected:
  // A running container to exec in.
  std::string running_container() {
    const std::string id = create_container("sleep 3600");
    sh("docker start " + id + " >/dev/null");
    return id;
  }

  std::unique_ptr<LiveCall> start_raw(json input) {
    auto live = start("docker/container/exec", std::move(input), call::Carriage::raw);
    EXPECT_TRUE(run_until([&] { return live->sink.raw_started || live->sink.done(); }));
    EXPECT_TRUE(live->sink.raw_started) << (live->sink.error ? live->sink.error->message : "");
    return live;
  }
};

TEST_F(ExecOpTest, JsonCarriageStreamsOutputThenExitCodeLast) {
  const std::string id = running_container();
  auto live =
      call("docker/container/exec",
           {{"containerId", id}, {"command", {"sh", "-c", "echo out; echo err >&2; exit 7"}}});
  const RecordingSink& s = live->sink;
  ASSERT_FALSE(s.error) << s.error->code << ": " << s.error->message;
  EXPECT_EQ(s.text_of("stdout"), "out\n");
  EXPECT_EQ(s.text_of("stderr"), "err\n");
  ASSERT_FALSE(s.outputs.empty());
  EXPECT_EQ(s.outputs.back(), (json{{"exitCode", 7}, {"terminal", true}}));
  for (size_t i = 0; i + 1 < s.outputs.size(); ++i) EXPECT_TRUE(s.outputs[i].contains("stream"));
  EXPECT_TRUE(s.completed);
  EXPECT_EQ(s.terminal_count, 1);
}

TEST_F(ExecOpTest, JsonCarriagePassesEnvWorkingDirAndUser) {
  const std::string id = running_container();
  auto live =
      call("docker/container/exec", {{"containerId", id},
                                     {"command", {"sh", "-c", "echo $GREETING; pwd; id -u"}},
                                     {"env", {{"GREETING", "hello world"}}},
                                     {"workingDir", "/tmp"},
                                     {"user", "65534"}});
  ASSERT_FALSE(live->sink.error) << live->sink.error->message;
  EXPECT_EQ(live->sink.text_of("stdout"), "hello world\n/tmp\n65534\n");
  EXPECT_EQ(live->sink.outputs.back(), (json{{"exitCode", 0}, {"terminal", true}}));
}

TEST_F(ExecOpTest, JsonCarriageLargeOutputArrivesWhole) {
  const std::string id = running_container();
  // ~6 MiB through the multiplexed framing, with a congested sink part of the time.
  auto live =
      start("docker/container/exec", {{"containerId", id},
                                      {"command",
                                       {"sh", "-c",
                                        "i=0; while [ $i -lt 65536 ]; do "
                                        "echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                        "xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"}}});
  ASSERT_TRUE(run_until([&] { return !live->sink.outputs.empty(); }));
  // Congested: the read in progress is delivered, then the exec's output is paused.
  live->sink.congested = true;
  run_until([] { return false; }, std::chrono::milliseconds(300));
  const size_t held = live->sink.outputs.size();
  run_until([] { return false; }, std::chrono::milliseconds(300));
  if (!live->sink.done()) EXPECT_EQ(live->sink.outputs.size(), held);
  live->sink.congested = false;
  live->handler->on_writable();
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  ASSERT_FALSE(live->sink.error) << live->sink.error->message;
  std::string want;
  for (int i = 0; i < 65536; ++i) {
    want += "line-" + std::to_string(i) + "-" + std::string(64, 'x') + "\n";
  }
  EXPECT_EQ(live->sink.text_of("stdout"), want);
  EXPECT_EQ(live->sink.outputs.back(), (json{{"exitCode", 0}, {"terminal", true}}));
}

TEST_F(ExecOpTest, RawCarriageStdinRoundTripThenExit) {
  const std::string id = running_container();
  auto live = start_raw({{"containerId", id}, {"command", {"cat"}}, {"stdin", true}});
  ASSERT_TRUE(live->sink.raw_started);
  EXPECT_FALSE(live->sink.tty);
  std::string bytes;
  for (int i = 0; i < 200000; ++i) bytes += static_cast<char>((i * 7 + i / 251) & 0xff);
  for (size_t off = 0; off < bytes.size(); off += 65536) {
    ASSERT_TRUE(run_until([&] { return !live->sink.input_paused; }));
    live->handler->on_stdin(std::string_view(bytes).substr(off, 65536));
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  live->handler->on_stdin_end();
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  EXPECT_FALSE(live->sink.error);
  EXPECT_EQ(live->sink.raw_stdout.size(), bytes.size());
  EXPECT_TRUE(live->sink.raw_stdout == bytes);
  EXPECT_EQ(live->sink.exit_code, 0);
  EXPECT_EQ(live->sink.raw_stdout_at_exit, bytes.size());
  EXPECT_EQ(live->sink.terminal_count, 1);
}

TEST_F(ExecOpTest, RawCarriageEndsWhenTheProcessExitsWithStdinStillOpen) {
  const std::string id = running_container();
  auto live = start_raw({{"containerId", id},
                         {"command", {"sh", "-c", "read x; echo got $x; exit 4"}},
                         {"stdin", true}});
  live->handler->on_stdin("one\n");
  // No end of stdin: the process's exit alone ends the session.
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(20)));
  EXPECT_EQ(live->sink.raw_stdout, "got one\n");
  EXPECT_EQ(live->sink.exit_code, 4);
}

TEST_F(ExecOpTest, RawCarriageWithoutStdinCarriesStderrAndExitCode) {
  const std::string id = running_container();
  auto live =
      start_raw({{"containerId", id}, {"command", {"sh", "-c", "echo a; echo b >&2; exit 3"}}});
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  EXPECT_EQ(live->sink.raw_stdout, "a\n");
  EXPECT_EQ(live->sink.raw_stderr, "b\n");
  EXPECT_EQ(live->sink.exit_code, 3);
}

TEST_F(ExecOpTest, TtyExecOverJsonCarriage) {
  const std::string id = running_container();
  auto live =
      call("docker/container/exec",
           {{"containerId", id}, {"command", {"sh", "-c", "tty; echo x >&2"}}, {"tty", true}});
  ASSERT_FALSE(live->sink.error) << live->sink.error->message;
  // A TTY has one output stream: stderr comes out as stdout, with the terminal's CR LF.
  EXPECT_EQ(live->sink.text_of("stdout").rfind("/dev/pts/", 0), 0u) << live->sink.text_of("stdout");
  EXPECT_NE(live->sink.text_of("stdout").find("x\r\n"), std::string::npos);
  EXPECT_EQ(live->sink.text_of("stderr"), "");
  EXPECT_EQ(live->sink.outputs.back(), (json{{"exitCode", 0}, {"terminal", true}}));
}

TEST_F(ExecOpTest, TtyExecOverRawCarriageResizesAndEndsStdinWithEof) {
  const std::string id = running_container();
  auto live = start_raw({{"containerId", id},
                         {"command", {"sh", "-c", "read x; stty size; cat; echo done"}},
                         {"tty", true},
                         {"stdin", true}});
  ASSERT_TRUE(live->sink.raw_started);
  EXPECT_TRUE(live->sink.tty);
  live->handler->on_control({{"type", "resize"}, {"cols", 123}, {"rows", 45}});
  run_until([] { return false; }, std::chrono::milliseconds(500));
  live->handler->on_stdin("go\n");
  ASSERT_TRUE(run_until([&] { return live->sink.raw_stdout.find("45 123") != std::string::npos; },
                        std::chrono::seconds(10)))
      << live->sink.raw_stdout;
  // The end of stdin on a TTY is the terminal's EOF: cat ends, the shell goes on.
  live->handler->on_stdin_end();
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }, std::chrono::seconds(20)))
      << live->sink.raw_stdout;
  EXPECT_NE(live->sink.raw_stdout.find("done"), std::string::npos);
  EXPECT_EQ(live->sink.exit_code, 0);
}

TEST_F(ExecOpTest, MissingContainerIsContainerNotFound) {
  auto live = call("docker/container/exec",
                   {{"containerId", "alknet-no-such-container-4711"}, {"command", {"true"}}});
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "CONTAINER_NOT_FOUND");
}

TEST_F(ExecOpTest, StoppedContainerIsConflict) {
  const std::string id = create_container("sleep 3600");
  auto live = call("docker/container/exec", {{"containerId", id}, {"command", {"true"}}});
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "CONFLICT");
}

TEST_F(ExecOpTest, StdinOnJsonCarriageIsInvalidInput) {
  // Refused before any docker request: the container need not exist.
  auto live = call("docker/container/exec",
                   {{"containerId", "whatever"}, {"command", {"cat"}}, {"stdin", true}});
  ASSERT_TRUE(live->sink.error);
  EXPECT_EQ(live->sink.error->code, "INVALID_INPUT");
  EXPECT_NE(live->sink.error->message.find("raw carriage"), std::string::npos);
}

TEST_F(ExecOpTest, BadInputsNameTheField) {
  struct Case {
    json input;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"containerId", "x"}, {"command", json::array()}}, "command"},
      {{{"containerId", "x"}, {"command", {"ls", 1}}}, "command[1]"},
      {{{"containerId", "x"}}, "command"},
      {{{"containerId", "x"}, {"command", {"ls"}}, {"privileged", true}}, "privileged"},
      {{{"containerId", "x"}, {"command", {"ls"}}, {"env", {{"A", 1}}}}, "env.A"},
      {{{"containerId", "../images/json"}, {"command", {"ls"}}}, "containerId"},
  };
  for (const auto& c : cases) {
    auto live = call("docker/container/exec", c.input);
    ASSERT_TRUE(live->sink.error) << c.input.dump();
    EXPECT_EQ(live->sink.error->code, "INVALID_INPUT") << c.input.dump();
    EXPECT_NE(live->sink.error->message.find(c.field), std::string::npos)
        << c.input.dump() << " → " << live->sink.error->message;
  }
}

TEST_F(ExecOpTest, CancelMidExecLeavesNoConnection) {
  const std::string id = running_container();
  auto live = start_raw({{"containerId", id}, {"command", {"cat"}}, {"stdin", true}});
  live->handler->on_stdin("ping\n");
  ASSERT_TRUE(run_until([&] { return live->sink.raw_stdout == "ping\n"; }));
  live->handler->cancel();
  live->handler.reset();
  run_until([&] { return engine_->docker().stats().hijacked == 0; }, std::chrono::seconds(5));
  EXPECT_EQ(engine_->docker().stats().hijacked, 0u);
  EXPECT_EQ(live->sink.terminal_count, 0);
}

TEST_F(ExecOpTest, MissingProgramEndsWithDockersExitCode) {
  const std::string id = running_container();
  auto live = call("docker/container/exec", {{"containerId", id}, {"command", {"/nonexistent"}}});
  ASSERT_FALSE(live->sink.error) << live->sink.error->message;
  // The daemon reports a failed exec start inside the stream, as the docker CLI shows it.
  EXPECT_NE(live->sink.text_of("stdout").find("/nonexistent"), std::string::npos);
  EXPECT_EQ(live->sink.outputs.back(), (json{{"exitCode", 126}, {"terminal", true}}));
}

TEST_F(ExecOpTest, RawCarriageOutputWaitsForACongestedSink) {
  const std::string id = running_container();
  auto live = start_raw({{"containerId", id}, {"command", {"head", "-c", "8000000", "/dev/zero"}}});
  ASSERT_TRUE(run_until([&] { return !live->sink.raw_stdout.empty() || live->sink.done(); }));
  live->sink.congested = true;
  run_until([] { return false; }, std::chrono::milliseconds(300));
  const size_t held = live->sink.raw_stdout.size();
  run_until([] { return false; }, std::chrono::milliseconds(300));
  if (!live->sink.done()) {
    EXPECT_EQ(live->sink.raw_stdout.size(), held);
    EXPECT_FALSE(live->sink.exit_code);
  }
  live->sink.congested = false;
  live->handler->on_writable();
  ASSERT_TRUE(run_until([&] { return live->sink.done(); }));
  EXPECT_EQ(live->sink.raw_stdout, std::string(8000000, '\0'));
  EXPECT_EQ(live->sink.exit_code, 0);
}

TEST_F(ExecOpTest, NonOperatorExecsOnlyInItsOwnContainers) {
  call::Peer alice;
  alice.id = "SHA256:alice";
  alice.is_operator = false;
  alice.scopes = {"container:exec"};
  const std::string hers = create_container("sleep 3600", "--label alknet.owner=SHA256:alice");
  const std::string other = running_container();
  sh("docker start " + hers + " >/dev/null");

  auto refused = start("docker/container/exec", {{"containerId", other}, {"command", {"true"}}},
                       call::Carriage::json, alice);
  ASSERT_TRUE(run_until([&] { return refused->sink.done(); }));
  ASSERT_TRUE(refused->sink.error);
  EXPECT_EQ(refused->sink.error->code, "FORBIDDEN");
  EXPECT_TRUE(refused->sink.outputs.empty());

  auto allowed =
      start("docker/container/exec", {{"containerId", hers}, {"command", {"echo", "hi"}}},
            call::Carriage::json, alice);
  ASSERT_TRUE(run_until([&] { return allowed->sink.done(); }));
  ASSERT_FALSE(allowed->sink.error) << allowed->sink.error->message;
  EXPECT_EQ(allowed->sink.text_of("stdout"), "hi\n");
  EXPECT_EQ(allowed->sink.outputs.back(), (json{{"exitCode", 0}, {"terminal", true}}));
}

}  // namespace
}  // namespace alk::test

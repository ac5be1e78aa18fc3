// `alknet-docker call` against a scripted fake server on a unix socket (no daemon): a malformed
// frame ends the call with exit 125 and closes the connection — it used to half-close and then
// wait for good — fields of the wrong type in the raw switch or an exit control are read as
// absent instead of throwing out of the loop (exit 70), and a `--raw` TTY session killed by a
// signal leaves the terminal as it found it.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "support/processes.h"
#include "wire/chunk_codec.h"
#include "wire/envelope.h"

namespace alk::test {
namespace {

// Accepts one connection, reads the request, writes `script`, reads until the client's FIN and,
// holding the connection, records whether the client then closed its socket.
class ScriptedServer {
 public:
  /// `hold`: keep the connection after the client's FIN, as serve does for a call it is still
  /// answering; else close it then, as serve does once a call has ended.
  ScriptedServer(std::string path, std::string script, bool hold)
      : path_(std::move(path)), script_(std::move(script)), hold_(hold) {
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    listening_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                 ::listen(fd_, 1) == 0;
    if (listening_) thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  bool listening() const { return listening_; }
  /// After the thread is done (the destructor, or once the client process has exited and closed).
  bool client_closed() {
    if (thread_.joinable()) thread_.join();
    return client_closed_.load();
  }

 private:
  void serve() {
    pollfd accept_poll{fd_, POLLIN, 0};
    if (::poll(&accept_poll, 1, 20000) != 1) return;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    char buf[4096];
    (void)::read(c, buf, sizeof(buf));  // the request frame
    (void)::write(c, script_.data(), script_.size());
    // Held, the connection stays open after the client's FIN: only the client closing its socket
    // ends it (POLLHUP), or 15 s.
    for (;;) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 15000) != 1) break;
      if (::read(c, buf, sizeof(buf)) <= 0) break;
    }
    pollfd hup{c, 0, 0};
    client_closed_ = hold_ && ::poll(&hup, 1, 15000) == 1 && (hup.revents & POLLHUP) != 0;
    ::close(c);
  }

  std::string path_;
  std::string script_;
  bool hold_;
  int fd_ = -1;
  bool listening_ = false;
  std::atomic<bool> client_closed_{false};
  std::thread thread_;
};

std::string socket_path(const char* name) {
  return "/tmp/alk-cli-fault-" + std::to_string(::getpid()) + "-" + name + ".sock";
}

class CallCliServerFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(alknet_binary().c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
  }
};

TEST_F(CallCliServerFaults, AMalformedFrameEndsTheCallAndClosesTheConnection) {
  std::string script;
  wire::append_frame(script, wire::Envelope{std::string(wire::kResponded),
                                            "x",
                                            {{"output", {{"stream", "stdout"}, {"text", "a\n"}}}}});
  script += std::string("\0\0\0\5", 4) + "nojso";  // a frame whose body is not JSON
  const std::string path = socket_path("frame");
  ScriptedServer server(path, script, /*hold=*/true);
  ASSERT_TRUE(server.listening());
  const CommandResult r = run_command("timeout 10 " + alknet_binary() + " call unix://" + path +
                                      " docker/container/logs "
                                      "'{\"containerId\":\"x\",\"follow\":true}' </dev/null");
  EXPECT_EQ(r.exit_code, 125) << r.out;  // timeout's 124: the call waited on a half-closed stream
  EXPECT_NE(r.out.find("malformed frame from the server"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"({"stream":"stdout","text":"a\n"})"), std::string::npos) << r.out;
  EXPECT_TRUE(server.client_closed());
}

TEST_F(CallCliServerFaults, FieldsOfTheWrongTypeFromTheServerAreReadAsAbsent) {
  std::string script;
  wire::append_frame(script, wire::Envelope{std::string(wire::kResponded),
                                            "x",
                                            {{"output", {{"carriage", "raw"}, {"tty", "yes"}}}}});
  wire::append_chunk(script, wire::ChunkType::stdout_data, "out\n");
  wire::append_chunk(script, wire::ChunkType::control_out, "not json");
  wire::append_chunk(script, wire::ChunkType::control_out, R"({"type":"error","message":7})");
  wire::append_chunk(script, wire::ChunkType::control_out, R"({"type":"exit","code":"0"})");
  const std::string path = socket_path("types");
  ScriptedServer server(path, script, /*hold=*/false);
  ASSERT_TRUE(server.listening());
  const CommandResult r =
      run_command("timeout 20 " + alknet_binary() + " call --raw unix://" + path +
                  " docker/container/attach '{\"containerId\":\"x\"}' </dev/null");
  // An exit code that is not a number is unknown: 125, as for -1. Not 70 (an exception).
  EXPECT_EQ(r.exit_code, 125) << r.out;
  EXPECT_NE(r.out.find("out\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alknet-docker call: error"), std::string::npos) << r.out;
}

// Raw mode clears ICANON on the terminal; SIGTERM must give it back before the process ends.
TEST_F(CallCliServerFaults, ASignalThatEndsARawTtySessionRestoresTheTerminal) {
  std::string script;
  wire::append_frame(script, wire::Envelope{std::string(wire::kResponded),
                                            "x",
                                            {{"output", {{"carriage", "raw"}, {"tty", true}}}}});
  const std::string path = socket_path("tty");
  ScriptedServer server(path, script, /*hold=*/true);
  ASSERT_TRUE(server.listening());
  std::string binary = alknet_binary();
  std::string address = "unix://" + path;
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(binary.c_str(), binary.c_str(), "call", "--raw", address.c_str(),
            "docker/container/attach", R"({"containerId":"x"})", nullptr);
    ::_exit(127);
  }
  auto canonical = [&] {
    termios t{};
    return ::tcgetattr(master, &t) == 0 && (t.c_lflag & ICANON) != 0;
  };
  ASSERT_TRUE(canonical());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (canonical() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool went_raw = !canonical();
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(went_raw) << "the session never put the terminal in raw mode";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_TRUE(canonical()) << "the terminal was left in raw mode";
  ::close(master);
}

}  // namespace
}  // namespace alk::test

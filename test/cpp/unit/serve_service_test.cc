// `alknet-docker serve` under a service manager (systemd Type=notify), as a process: READY=1 once
// every listener is bound, WATCHDOG=1 at half of $WATCHDOG_USEC, RELOADING=1 then READY=1 on
// SIGHUP (which never ends the server, even while it stops), STOPPING=1 on SIGTERM. The manager's
// end is a datagram socket of the test's own; no daemon is needed (no call is made).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

#include "support/processes.h"

namespace alk::test {
namespace {

using Clock = std::chrono::steady_clock;

class ServeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(alknet_binary().c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
    ::unlink(notify_path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notify_path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
    ::unlink(notify_path_.c_str());
    ::unlink(listen_path_.c_str());
    ::unlink(log_path_.c_str());
  }

  // serve on `listen` (this test's unix socket by default), with $NOTIFY_SOCKET (unless `notify`
  // is false) and, when given, $WATCHDOG_USEC in its environment only (any the test runner has
  // are left out).
  void start(std::optional<std::string> watchdog_usec, const std::string& listen = std::string(),
             bool notify = true) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view v(*e);
      if (v.rfind("NOTIFY_SOCKET=", 0) != 0 && v.rfind("WATCHDOG_", 0) != 0) env.emplace_back(v);
    }
    if (notify) env.push_back("NOTIFY_SOCKET=" + notify_path_);
    if (watchdog_usec) env.push_back("WATCHDOG_USEC=" + *watchdog_usec);
    const std::string binary = alknet_binary();
    const std::string address = listen.empty() ? "unix://" + listen_path_ : listen;
    std::vector<std::string> args = {binary, "serve", "--listen", address, "--quiet"};
    // posix_spawn, not fork: nothing runs in the child before exec.
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc =
        ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << std::strerror(rc);
  }

  // Reports until one contains `wanted` or `within` passes; every report seen is kept.
  bool await_report(const std::string& wanted, std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    while (Clock::now() < deadline) {
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      reports_.emplace_back(buf, static_cast<size_t>(n));
      if (reports_.back().find(wanted) != std::string::npos) return true;
    }
    return false;
  }

  size_t count(const std::string& report) const {
    size_t n = 0;
    for (const auto& r : reports_) n += r == report;
    return n;
  }

  std::string seen() const {
    std::string s;
    for (const auto& r : reports_) s += "[" + r + "] ";
    return s + "\nlog: " + read_whole_file(log_path_);
  }

  bool listener_accepts() const {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, listen_path_.c_str(), sizeof(addr.sun_path) - 1);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
  }

  const std::string tag_ = std::to_string(::getpid());
  const std::string notify_path_ = "/tmp/alk-serve-notify-" + tag_ + ".sock";
  const std::string listen_path_ = "/tmp/alk-serve-service-" + tag_ + ".sock";
  const std::string log_path_ = "/tmp/alk-serve-service-" + tag_ + ".log";
  int fd_ = -1;
  pid_t pid_ = -1;
  std::vector<std::string> reports_;
};

TEST_F(ServeServiceTest, ReportsReadyWatchdogReloadAndStopping) {
  start("200000");  // a ping every 100 ms
  ASSERT_TRUE(await_report("READY=1", std::chrono::seconds(30))) << seen();
  // Ready means listening: the socket answers at once.
  EXPECT_TRUE(listener_accepts()) << seen();
  EXPECT_NE(reports_.back().find("STATUS=listening on unix://" + listen_path_), std::string::npos)
      << seen();

  // Several pings, not just one (the timer repeats). Generous: a loaded machine delays timers.
  const auto t0 = Clock::now();
  while (count("WATCHDOG=1") < 3 && Clock::now() - t0 < std::chrono::seconds(20)) {
    await_report("WATCHDOG=1", std::chrono::seconds(1));
  }
  EXPECT_GE(count("WATCHDOG=1"), 3u) << seen();

  // systemctl reload: RELOADING=1 with the monotonic time, then READY=1; the server stays up.
  ASSERT_EQ(::kill(pid_, SIGHUP), 0);
  ASSERT_TRUE(await_report("RELOADING=1\nMONOTONIC_USEC=", std::chrono::seconds(30))) << seen();
  const size_t readies = count("READY=1");
  const auto t1 = Clock::now();
  while (count("READY=1") == readies && Clock::now() - t1 < std::chrono::seconds(30)) {
    await_report("READY=1", std::chrono::seconds(1));
  }
  EXPECT_EQ(count("READY=1"), readies + 1) << seen();
  EXPECT_EQ(::waitpid(pid_, nullptr, WNOHANG), 0) << "SIGHUP ended the server\n" << seen();
  EXPECT_TRUE(listener_accepts()) << seen();
  EXPECT_NE(read_whole_file(log_path_).find("SIGHUP: nothing to reload"), std::string::npos)
      << seen();

  // systemctl stop: STOPPING=1, then a clean exit.
  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  EXPECT_TRUE(await_report("STOPPING=1", std::chrono::seconds(30))) << seen();
  int status = 0;
  ASSERT_EQ(::waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << seen();
}

TEST_F(ServeServiceTest, WithoutAWatchdogNoPingIsSent) {
  start(std::nullopt);
  ASSERT_TRUE(await_report("READY=1", std::chrono::seconds(30))) << seen();
  await_report("WATCHDOG=1", std::chrono::milliseconds(600));
  EXPECT_EQ(count("WATCHDOG=1"), 0u) << seen();
}

// SIGHUPs from before SIGTERM until the process has exited: libuv gives SIGHUP back its default
// action (end the process) when the last handle watching it closes, so one landing after the
// server closed its handles used to end it by the signal instead of a clean exit. Without
// $NOTIFY_SOCKET: every reload would send RELOADING=1 and READY=1 to a socket nobody drains.
TEST_F(ServeServiceTest, SighupsWhileTheServerStopsNeverEndIt) {
  start(std::nullopt, std::string(), /*notify=*/false);
  const auto t0 = Clock::now();
  while (!listener_accepts() && Clock::now() - t0 < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(listener_accepts()) << seen();

  std::atomic<bool> flooding{true};
  std::atomic<unsigned> sent{0};
  const pid_t pid = pid_;
  std::thread hangups([&] {
    while (flooding.load()) {
      if (::kill(pid, SIGHUP) == 0) sent.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // some land while it serves
  const int term = ::kill(pid_, SIGTERM);
  // WNOWAIT leaves the process a zombie, so its pid cannot be reused while the thread still
  // signals it.
  // Polled, with a deadline: a server that never stops fails the test instead of hanging it.
  siginfo_t info{};
  bool exited = false;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!exited && Clock::now() < deadline) {
    info = siginfo_t{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT | WNOHANG) != 0) break;
    exited = info.si_pid == pid_;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  flooding.store(false);
  hangups.join();
  ASSERT_EQ(term, 0);
  ASSERT_TRUE(exited) << "serve did not exit within 30 s of SIGTERM\n" << seen();
  int status = 0;
  ASSERT_EQ(::waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  EXPECT_GT(sent.load(), 10u);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << (WIFSIGNALED(status) ? "ended by signal " + std::to_string(WTERMSIG(status))
                              : "exit status " + std::to_string(WEXITSTATUS(status)))
      << " after " << sent.load() << " SIGHUPs\n"
      << seen();
  EXPECT_NE(read_whole_file(log_path_).find("stopped"), std::string::npos) << seen();
}

// A listener that cannot be bound: no READY=1 (the manager sees the start fail), exit code 1.
TEST_F(ServeServiceTest, AServerThatCannotListenNeverReportsReady) {
  const std::string not_a_socket = log_path_ + ".file";
  FILE* f = std::fopen(not_a_socket.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  start(std::nullopt, "unix://" + not_a_socket);
  int status = 0;
  ASSERT_EQ(::waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  ::unlink(not_a_socket.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << seen();
  EXPECT_FALSE(await_report("READY=1", std::chrono::milliseconds(300))) << seen();
  EXPECT_NE(read_whole_file(log_path_).find("exists and is not a socket"), std::string::npos)
      << seen();
}

}  // namespace
}  // namespace alk::test

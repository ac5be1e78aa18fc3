// The service-manager notify protocol (sd_notify): reports reach a datagram socket named by
// $NOTIFY_SOCKET (a path or an abstract name), a bad value is an error and never a crash, and the
// watchdog interval is half of $WATCHDOG_USEC, for this process only.
#include "util/service_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace alk::util {
namespace {

// A datagram socket standing in for the manager's end, bound at `name` ("/path" or "@abstract").
class ManagerSocket {
 public:
  explicit ManagerSocket(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    if (name[0] == '/') ::unlink(name.c_str());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~ManagerSocket() {
    if (fd_ >= 0) ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  // The next report, or "" after 5 s without one.
  std::string receive() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

// Each test starts without the manager's variables and leaves the runner's own as they were (a
// runner under systemd may have them).
class ServiceNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      const char* value = std::getenv(name);
      saved_.emplace_back(value ? std::optional<std::string>(value) : std::nullopt);
      ::unsetenv(name);
    }
  }
  void TearDown() override {
    for (size_t i = 0; i < kVariables.size(); ++i) {
      if (saved_[i]) {
        ::setenv(kVariables[i], saved_[i]->c_str(), 1);
      } else {
        ::unsetenv(kVariables[i]);
      }
    }
  }
  static constexpr std::array<const char*, 3> kVariables = {"NOTIFY_SOCKET", "WATCHDOG_USEC",
                                                            "WATCHDOG_PID"};
  std::vector<std::optional<std::string>> saved_;
  const std::string tag_ = std::to_string(::getpid());
};

TEST_F(ServiceNotifyTest, WithoutNotifySocketNothingIsSentAndNothingFails) {
  EXPECT_FALSE(notify_service_manager("READY=1").has_value());
}

TEST_F(ServiceNotifyTest, AReportReachesASocketPath) {
  const std::string path = "/tmp/alk-notify-" + tag_ + ".sock";
  ManagerSocket manager(path);
  ASSERT_TRUE(manager.bound());
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_FALSE(notify_service_manager("READY=1\nSTATUS=listening").has_value());
  EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=listening");
}

TEST_F(ServiceNotifyTest, AReportReachesAnAbstractName) {
  const std::string name = "@alk-notify-" + tag_;
  ManagerSocket manager(name);
  ASSERT_TRUE(manager.bound());
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_FALSE(notify_service_manager("STOPPING=1").has_value());
  EXPECT_EQ(manager.receive(), "STOPPING=1");
}

TEST_F(ServiceNotifyTest, ABadNotifySocketIsAnError) {
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  auto error = notify_service_manager("READY=1");
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("not a unix socket path"), std::string::npos) << *error;

  ::setenv("NOTIFY_SOCKET", std::string(200, '/').c_str(), 1);  // longer than sun_path
  EXPECT_TRUE(notify_service_manager("READY=1").has_value());

  ::setenv("NOTIFY_SOCKET", "/nonexistent/alk-notify.sock", 1);
  error = notify_service_manager("READY=1");
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("/nonexistent/alk-notify.sock: No such file or directory"),
            std::string::npos)
      << *error;
}

TEST_F(ServiceNotifyTest, WatchdogIntervalIsHalfTheTimeoutForThisProcessOnly) {
  EXPECT_EQ(service_watchdog_interval_ms(), 0u);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(service_watchdog_interval_ms(), 15000u);
  ::setenv("WATCHDOG_PID", tag_.c_str(), 1);
  EXPECT_EQ(service_watchdog_interval_ms(), 15000u);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);  // meant for another
  EXPECT_EQ(service_watchdog_interval_ms(), 0u);
  ::unsetenv("WATCHDOG_PID");
  for (const char* bad : {"0", "-5", "10s", ""}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    EXPECT_EQ(service_watchdog_interval_ms(), 0u) << bad;
  }
  ::setenv("WATCHDOG_USEC", "1500", 1);  // under 2 ms: never a zero interval
  EXPECT_EQ(service_watchdog_interval_ms(), 1u);
}

TEST_F(ServiceNotifyTest, MonotonicUsecIsTheMonotonicClock) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::string a = monotonic_usec_assignment();
  ASSERT_EQ(a.rfind("MONOTONIC_USEC=", 0), 0u) << a;
  const uint64_t usec = std::stoull(a.substr(15));
  const uint64_t before = static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  EXPECT_GE(usec, before);
  EXPECT_LT(usec, before + 5'000'000);
}

}  // namespace
}  // namespace alk::util

// A QUIC server or client that cannot get a UDP socket (a host without IPv6, no file descriptor
// left) fails with an error naming why, instead of touching a handle libuv never initialised.
// Each run is the built `alknet-docker` in a child whose socket(AF_INET6, …) fails with
// EAFNOSUPPORT (a seccomp filter installed between fork and exec); no daemon is needed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "support/processes.h"
#include "support/test_certs.h"

namespace alk::test {
namespace {

constexpr int kNoSeccomp = 97;  // the child's exit code when the filter could not be installed
constexpr char kNoSeccompMarker[] = "no seccomp filter here\n";

// In the child, before exec: only system calls from here on (async-signal-safe).
[[noreturn]] void exec_without_ipv6(const std::string& log, std::vector<char*>& argv) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
  }
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EAFNOSUPPORT & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
    // Said in the log too: under valgrind (which cannot install the filter) the exit code is
    // valgrind's own once it reports the child's unfreed memory.
    (void)!::write(STDERR_FILENO, kNoSeccompMarker, sizeof(kNoSeccompMarker) - 1);
    ::_exit(kNoSeccomp);
  }
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

struct ChildResult {
  int status = 0;  // as waitpid gives it
  std::string log;
};

// Runs alknet-docker with `args`, without IPv6 sockets; kills it after 20 s.
ChildResult run_without_ipv6(std::vector<std::string> args) {
  static int runs = 0;
  const std::string log =
      "/tmp/alk-udp-failure-" + std::to_string(::getpid()) + "-" + std::to_string(++runs) + ".log";
  args.insert(args.begin(), alknet_binary());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) exec_without_ipv6(log, argv);
  ChildResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::waitpid(pid, &r.status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &r.status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.log = read_whole_file(log);
  ::unlink(log.c_str());
  return r;
}

std::string describe(const ChildResult& r) {
  std::string s = WIFSIGNALED(r.status) ? "ended by signal " + std::to_string(WTERMSIG(r.status))
                                        : "exit " + std::to_string(WEXITSTATUS(r.status));
  return s + ", output:\n" + r.log;
}

class UdpSocketFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if !defined(__x86_64__)
    GTEST_SKIP() << "the seccomp filter is written for x86_64";
#endif
    if (::access(alknet_binary().c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
  }
};

TEST_F(UdpSocketFailureTest, AServerThatGetsNoSocketSaysWhyAndExitsOne) {
  const std::string address = "quic://[::1]:" + std::to_string(free_udp_port());
  const ChildResult r =
      run_without_ipv6({"serve", "--listen", address, "--cert", cert_path("server.crt"), "--key",
                        cert_path("server.key"), "--client-ca", cert_path("ca.crt")});
  if (r.log.find(kNoSeccompMarker) != std::string::npos) GTEST_SKIP() << r.log;
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << describe(r);
  EXPECT_NE(r.log.find("cannot listen on " + address + ": address family not supported"),
            std::string::npos)
      << describe(r);
}

TEST_F(UdpSocketFailureTest, AClientThatGetsNoSocketFailsTheCallWithTheReason) {
  const ChildResult r = run_without_ipv6({"call", "quic://[::1]:4433", "docker/system/ping", "--ca",
                                          cert_path("ca.crt"), "--cert", cert_path("client-a.crt"),
                                          "--key", cert_path("client-a.key")});
  if (r.log.find(kNoSeccompMarker) != std::string::npos) GTEST_SKIP() << r.log;
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 125) << describe(r);
  EXPECT_NE(r.log.find("cannot open a UDP socket: address family not supported"), std::string::npos)
      << describe(r);
}

}  // namespace
}  // namespace alk::test

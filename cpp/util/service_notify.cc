#include "util/service_notify.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace alk::util {

std::optional<std::string> notify_service_manager(std::string_view state) {
  const char* target = std::getenv("NOTIFY_SOCKET");
  if (target == nullptr || *target == '\0') return std::nullopt;
  const std::string path(target);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((path[0] != '/' && path[0] != '@') || path.size() > sizeof(addr.sun_path)) {
    return "NOTIFY_SOCKET=" + path + " is not a unix socket path (/path or @abstract)";
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract: the length bounds the name
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "NOTIFY_SOCKET: socket: " + std::string(std::strerror(errno));
  // Blocking, as libsystemd's sd_notify: a manager busy at boot may have a full queue (the
  // kernel's default is 10 datagrams), and a READY=1 dropped with EAGAIN would have the service
  // killed at its start timeout. A manager that does not read for a second loses the report.
  const timeval limit{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<sockaddr*>(&addr), len);
  const int err = errno;
  ::close(fd);
  if (sent < 0) return "NOTIFY_SOCKET=" + path + ": " + std::strerror(err);
  return std::nullopt;
}

uint64_t service_watchdog_interval_ms() {
  const char* pid = std::getenv("WATCHDOG_PID");
  if (pid != nullptr && *pid != '\0' && std::strtoll(pid, nullptr, 10) != ::getpid()) return 0;
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr || *usec == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(usec, &end, 10);
  if (errno != 0 || *end != '\0' || usec[0] == '-' || value == 0) return 0;
  // Half the timeout, at least 1 ms.
  return value / 2000 > 0 ? value / 2000 : 1;
}

std::string monotonic_usec_assignment() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  return "MONOTONIC_USEC=" + std::to_string(usec);
}

}  // namespace alk::util

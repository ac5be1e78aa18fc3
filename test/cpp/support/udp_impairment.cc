#include "support/udp_impairment.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <random>
#include <vector>

namespace alk::test {

namespace {

using Clock = std::chrono::steady_clock;

struct Datagram {
  Clock::time_point due;
  std::string bytes;
};

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

Result<sockaddr_in, std::string> ipv4(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    return unexpected("not a numeric IPv4 address: " + host);
  }
  return a;
}

// Large buffers, so the relay itself never adds loss when a burst arrives.
void big_buffers(int fd) {
  const int size = 8 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
}

}  // namespace

Result<std::unique_ptr<UdpImpairment>, std::string> UdpImpairment::start(
    const std::string& listen_host, const std::string& target_host, uint16_t target_port,
    ImpairmentOptions options) {
  auto local = ipv4(listen_host, 0);
  if (!local) return unexpected(local.error());
  auto target = ipv4(target_host, target_port);
  if (!target) return unexpected(target.error());
  int front = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int back = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const std::string& what) {
    std::string message = errno_text(what);
    if (front >= 0) ::close(front);
    if (back >= 0) ::close(back);
    return unexpected(std::move(message));
  };
  if (front < 0 || back < 0) return fail("socket");
  big_buffers(front);
  big_buffers(back);
  if (::bind(front, reinterpret_cast<const sockaddr*>(&local.value()), sizeof(sockaddr_in)) != 0) {
    return fail("bind " + listen_host);
  }
  if (::bind(back, reinterpret_cast<const sockaddr*>(&local.value()), sizeof(sockaddr_in)) != 0) {
    return fail("bind " + listen_host);
  }
  if (::connect(back, reinterpret_cast<const sockaddr*>(&target.value()), sizeof(sockaddr_in)) !=
      0) {
    return fail("connect " + target_host);
  }
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(front, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return fail("getsockname");
  }
  std::unique_ptr<UdpImpairment> relay(
      new UdpImpairment(front, back, ntohs(bound.sin_port), options));
  relay->thread_ = std::thread([r = relay.get()] { r->run(); });
  return relay;
}

UdpImpairment::UdpImpairment(int front, int back, uint16_t port, ImpairmentOptions options)
    : front_(front), back_(back), port_(port), options_(options) {}

UdpImpairment::~UdpImpairment() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(front_);
  ::close(back_);
}

ImpairmentStats UdpImpairment::stats() const {
  ImpairmentStats s;
  for (int d = 0; d < 2; ++d) {
    s.forwarded[d] = forwarded_[d];
    s.dropped[d] = dropped_[d];
    s.overflow[d] = overflow_[d];
  }
  return s;
}

void UdpImpairment::run() {
  std::mt19937_64 rng(options_.seed);
  std::bernoulli_distribution lose(options_.loss);
  std::deque<Datagram> queue[2];  // [0] toward the target, [1] toward the client
  sockaddr_in client{};
  bool have_client = false;
  std::vector<char> buf(65536);

  // Reads every datagram waiting on `fd` into queue[d] (or drops it).
  auto drain = [&](int fd, int d) {
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;  // EAGAIN, or an ICMP error of an earlier send: nothing to relay
      if (d == 0) {
        client = from;
        have_client = true;
      }
      if (lose(rng)) {
        ++dropped_[d];
        continue;
      }
      if (queue[d].size() >= options_.limit) {
        ++overflow_[d];
        continue;
      }
      queue[d].push_back({Clock::now() + options_.delay, std::string(buf.data(), n)});
    }
  };

  while (!stop_) {
    auto wait = std::chrono::microseconds(20000);  // re-checks stop_ this often
    const auto now = Clock::now();
    for (const auto& q : queue) {
      if (q.empty()) continue;
      const auto until = std::chrono::duration_cast<std::chrono::microseconds>(q.front().due - now);
      wait = std::max(std::chrono::microseconds(0), std::min(wait, until));
    }
    pollfd fds[2] = {{front_, POLLIN, 0}, {back_, POLLIN, 0}};
    const timespec ts{static_cast<time_t>(wait.count() / 1000000),
                      static_cast<long>(wait.count() % 1000000) * 1000};
    ::ppoll(fds, 2, &ts, nullptr);
    if (fds[0].revents & (POLLIN | POLLERR)) drain(front_, 0);
    if (fds[1].revents & (POLLIN | POLLERR)) drain(back_, 1);

    const auto sent_by = Clock::now();
    while (!queue[0].empty() && queue[0].front().due <= sent_by) {
      const auto& p = queue[0].front().bytes;
      if (::send(back_, p.data(), p.size(), 0) >= 0) ++forwarded_[0];
      queue[0].pop_front();
    }
    while (!queue[1].empty() && queue[1].front().due <= sent_by) {
      const auto& p = queue[1].front().bytes;
      if (have_client &&
          ::sendto(front_, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&client),
                   sizeof(client)) >= 0) {
        ++forwarded_[1];
      }
      queue[1].pop_front();
    }
  }
}

}  // namespace alk::test

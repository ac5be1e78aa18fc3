// A userspace stand-in for `tc qdisc … netem delay D loss L`: a UDP relay on its own thread that
// delays every datagram by a fixed time and drops a fraction of them, in both directions. For
// kernels built without sch_netem.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "util/result.h"

namespace alk::test {

struct ImpairmentOptions {
  std::chrono::microseconds delay{20000};  ///< added to each datagram, each direction
  double loss = 0.01;                      ///< fraction of datagrams dropped, each direction
  size_t limit = 1000;  ///< datagrams held per direction (netem's default); more are dropped
  uint64_t seed = 1;    ///< the drop pattern is reproducible
};

/// Datagram counts per direction: [0] client → target, [1] target → client.
struct ImpairmentStats {
  uint64_t forwarded[2] = {0, 0};
  uint64_t dropped[2] = {0, 0};   ///< by the loss rate
  uint64_t overflow[2] = {0, 0};  ///< by the limit
};

/// Relays between one client (the first address that sends to port()) and one target. The
/// relay's thread runs until it is destroyed.
class UdpImpairment {
 public:
  /// Binds `listen_host`:0 for the client and a second socket, on the same host, connected to
  /// `target_host`:`target_port` (numeric IPv4). Returns a message naming what failed.
  static Result<std::unique_ptr<UdpImpairment>, std::string> start(const std::string& listen_host,
                                                                   const std::string& target_host,
                                                                   uint16_t target_port,
                                                                   ImpairmentOptions options);
  ~UdpImpairment();  ///< stops the thread and closes the sockets (queued datagrams are lost)
  UdpImpairment(const UdpImpairment&) = delete;
  UdpImpairment& operator=(const UdpImpairment&) = delete;

  /// The port clients send to (on listen_host).
  uint16_t port() const { return port_; }
  /// A snapshot of the counters; any thread.
  ImpairmentStats stats() const;

 private:
  UdpImpairment(int front, int back, uint16_t port, ImpairmentOptions options);
  void run();

  int front_;  // the client's side
  int back_;   // connected to the target
  uint16_t port_;
  ImpairmentOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> forwarded_[2] = {0, 0}, dropped_[2] = {0, 0}, overflow_[2] = {0, 0};
  std::thread thread_;
};

}  // namespace alk::test

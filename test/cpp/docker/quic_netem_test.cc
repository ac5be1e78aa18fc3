// QUIC over an impaired link: the `alknet-docker serve` binary runs in its own network namespace,
// joined to the test's by a veth pair with 20 ms of delay and 1 % loss in each direction, and a
// 64 MiB attach round trip (stdin → cat → stdout) must come back byte-exact. The impairment is
// `tc qdisc … netem` on both veth ends; on a kernel built without sch_netem the same delay and
// loss come from a UDP relay in the test (support/udp_impairment.h), in front of the veth.
// Needs root; the namespace, the veth pair and the qdiscs are the test's own and are removed in
// TearDown (docker0, iptables and the daemon's networking are not touched).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "client/call_client.h"
#include "support/engine_fixture.h"
#include "support/numbered_lines.h"
#include "support/processes.h"
#include "support/test_certs.h"
#include "support/udp_impairment.h"

namespace alk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kBinary = alknet_binary();
const std::string kNsPrefix = "alk-netem-";  // + the test process' pid
constexpr uint16_t kServerPort = 4433;

// The veth ends of the run whose pid is `tag` (at most 15 characters).
std::string host_link(const std::string& tag) {
  return "alkn" + tag + "h";
}
std::string ns_link(const std::string& tag) {
  return "alkn" + tag + "n";
}

// Namespaces (and their veth pairs) left by runs of this test that died before their TearDown.
void remove_stale() {
  std::istringstream list(run_command("ip netns list").out);
  std::string line;
  while (std::getline(list, line)) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(kNsPrefix, 0) != 0) continue;
    const std::string tag = name.substr(kNsPrefix.size());
    if (tag.empty() || tag.find_first_not_of("0123456789") != std::string::npos) continue;
    if (::kill(std::stoi(tag), 0) == 0 || errno != ESRCH) continue;  // still running
    run_command("ip link del " + host_link(tag));
    run_command("ip netns del " + name);
  }
}

class QuicNetemTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    if (HasFatalFailure()) return;
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root: the test makes a network namespace, a veth pair and qdiscs";
    }
    if (::access(kBinary.c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
    if (run_command("ip netns list").exit_code != 0) GTEST_SKIP() << "`ip netns` is not available";
    remove_stale();

    const std::string tag = std::to_string(::getpid());
    ns_ = kNsPrefix + tag;
    host_if_ = host_link(tag);
    ns_if_ = ns_link(tag);
    const std::string net = "10.213." + std::to_string(::getpid() % 250) + ".";
    host_ip_ = net + "1";
    server_ip_ = net + "2";
    log_ = "/tmp/" + ns_ + ".log";

    CommandResult c = run_command("ip netns add " + ns_);
    if (c.exit_code != 0) GTEST_SKIP() << "`ip netns add` failed: " << c.out;
    ns_created_ = true;
    c = run_command("ip link add " + host_if_ + " type veth peer name " + ns_if_ + " netns " + ns_);
    ASSERT_EQ(c.exit_code, 0) << c.out;
    link_created_ = true;
    for (const std::string& step :
         {"ip addr add " + host_ip_ + "/30 dev " + host_if_, "ip link set " + host_if_ + " up",
          "ip -n " + ns_ + " addr add " + server_ip_ + "/30 dev " + ns_if_,
          "ip -n " + ns_ + " link set " + ns_if_ + " up", "ip -n " + ns_ + " link set lo up"}) {
      c = run_command(step);
      ASSERT_EQ(c.exit_code, 0) << step << ": " << c.out;
    }
    const std::string netem = " root netem delay 20ms loss 1%";
    c = run_command("tc qdisc add dev " + host_if_ + netem);
    if (c.exit_code == 0) {
      c = run_command("tc -n " + ns_ + " qdisc add dev " + ns_if_ + netem);
      ASSERT_EQ(c.exit_code, 0) << c.out;
      netem_ = true;
    } else {
      netem_error_ = c.out;
      while (!netem_error_.empty() && netem_error_.back() == '\n') netem_error_.pop_back();
    }
  }

  void TearDown() override {
    calls_.clear();
    clients_.clear();
    run_until([] { return false; }, 50ms);
    relay_.reset();
    stop_server();
    if (link_created_) {
      // Deleting one end deletes the pair and both qdiscs.
      const CommandResult c = run_command("ip link del " + host_if_);
      EXPECT_EQ(c.exit_code, 0) << c.out;
    }
    if (ns_created_) {
      const CommandResult c = run_command("ip netns del " + ns_);
      EXPECT_EQ(c.exit_code, 0) << c.out;
      EXPECT_EQ(run_command("ip netns list").out.find(ns_), std::string::npos)
          << "namespace left behind";
      EXPECT_NE(run_command("ip link show " + host_if_).exit_code, 0) << "veth left behind";
    }
    std::remove(log_.c_str());
    EngineFixture::TearDown();
  }

  // `alknet-docker serve` inside the namespace, listening on its veth address. It reaches the
  // daemon through the unix socket, which is on the shared filesystem.
  void start_server() {
    // Everything the child needs is computed here: the certificates are made on first use, once
    // per test process, and must not be made again in the child.
    const std::string listen = "quic://" + server_ip_ + ":" + std::to_string(kServerPort);
    const std::string cert = cert_path("server.crt"), key = cert_path("server.key"),
                      ca = cert_path("ca.crt");
    server_pid_ = ::fork();
    ASSERT_GE(server_pid_, 0);
    if (server_pid_ == 0) {
      FILE* f = std::fopen(log_.c_str(), "w");
      if (f) ::dup2(::fileno(f), STDERR_FILENO);
      ::execlp("ip", "ip", "netns", "exec", ns_.c_str(), kBinary.c_str(), "serve", "--listen",
               listen.c_str(), "--cert", cert.c_str(), "--key", key.c_str(), "--client-ca",
               ca.c_str(), "--shutdown-grace", "2", nullptr);
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (server_log().find("listening on quic://") == std::string::npos) {
      if (::waitpid(server_pid_, nullptr, WNOHANG) == server_pid_) {
        server_pid_ = -1;
        FAIL() << "the server exited: " << server_log();
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << server_log();
      std::this_thread::sleep_for(50ms);
    }
  }

  void stop_server() {
    if (server_pid_ <= 0) return;
    ::kill(server_pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(server_pid_, nullptr, WNOHANG) == server_pid_) {
        server_pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "the server did not stop within 10 s of SIGTERM";
    ::kill(server_pid_, SIGKILL);
    ::waitpid(server_pid_, nullptr, 0);
    server_pid_ = -1;
  }

  std::string server_log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string ns_, host_if_, ns_if_, host_ip_, server_ip_, log_;
  bool ns_created_ = false, link_created_ = false, netem_ = false;
  std::string netem_error_;
  pid_t server_pid_ = -1;
  std::unique_ptr<UdpImpairment> relay_;
  std::vector<std::unique_ptr<client::ClientCall>> calls_;
  std::vector<std::unique_ptr<client::CallClient>> clients_;
};

TEST_F(QuicNetemTest, SixtyFourMiBAttachRoundTripAcrossALossyDelayedLink) {
  start_server();
  if (HasFatalFailure()) return;
  std::string address = "quic://" + server_ip_ + ":" + std::to_string(kServerPort);
  if (!netem_) {
    ImpairmentOptions impairment;
    impairment.delay = 20ms;
    impairment.loss = 0.01;
    auto relay = UdpImpairment::start(host_ip_, server_ip_, kServerPort, impairment);
    ASSERT_TRUE(relay.ok()) << relay.error();
    relay_ = std::move(relay).value();
    address = "quic://" + host_ip_ + ":" + std::to_string(relay_->port());
  }
  std::printf("[ setup    ] server in netns %s at %s:%u; %s\n", ns_.c_str(), server_ip_.c_str(),
              kServerPort,
              netem_ ? "netem delay 20ms loss 1% on both veth ends"
                     : ("no netem in this kernel (" + netem_error_ +
                        "): a UDP relay on the host end adds 20 ms and 1% loss each way")
                           .c_str());

  client::ClientTlsOptions tls;
  tls.ca = cert_path("ca.crt");
  tls.cert = cert_path("client-a.crt");
  tls.key = cert_path("client-a.key");
  tls.server_name = "localhost";  // the test server certificate's name
  clients_.push_back(std::make_unique<client::CallClient>(
      &loop_, client::parse_address(address).value(), std::move(tls)));
  client::CallClient& c = *clients_.back();

  // One round trip first: the link's latency as the client sees it.
  bool pinged = false;
  std::optional<call::CallError> ping_error;
  client::CallEvents ping_events;
  ping_events.on_end = [&](std::optional<call::CallError> e) {
    ping_error = std::move(e);
    pinged = true;
  };
  client::CallOptions query;
  query.kind = call::OpKind::query;
  calls_.push_back(c.call("services/list", json::object(), std::move(ping_events), query));
  ASSERT_TRUE(run_until([&] { return pinged; }, 60s));
  ASSERT_FALSE(ping_error) << ping_error->code << ": " << ping_error->message;
  const auto p0 = std::chrono::steady_clock::now();
  pinged = false;
  client::CallEvents second;
  second.on_end = [&](std::optional<call::CallError> e) {
    ping_error = std::move(e);
    pinged = true;
  };
  calls_.push_back(c.call("services/list", json::object(), std::move(second), query));
  ASSERT_TRUE(run_until([&] { return pinged; }, 60s));
  const double call_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p0).count();
  std::printf("[ measure  ] services/list on the open connection: %.1f ms\n", call_ms);

  const std::string id = create_container("cat", "-i");  // OpenStdin + StdinOnce
  const std::string bytes = pseudo_random_bytes(size_t{64} << 20);
  std::string received;
  received.reserve(bytes.size());
  std::optional<call::CallError> error;
  std::optional<int> exit_code;
  bool raw_open = false, ended = false, eof_sent = false;
  size_t sent = 0;
  client::ClientCall* call = nullptr;
  auto pump = [&] {
    while (call && raw_open && !eof_sent && call->writable()) {
      const size_t piece = std::min<size_t>(64 * 1024, bytes.size() - sent);
      call->send_stdin(std::string_view(bytes).substr(sent, piece));
      sent += piece;
      if (sent == bytes.size()) {
        call->end_stdin();
        eof_sent = true;
      }
    }
  };
  client::CallEvents events;
  events.on_raw_open = [&](bool) { raw_open = true; };
  events.on_chunk = [&](wire::ChunkType t, std::string_view b) {
    if (t == wire::ChunkType::stdout_data) received.append(b);
  };
  events.on_exit = [&](int code) { exit_code = code; };
  events.on_drain = pump;
  events.on_end = [&](std::optional<call::CallError> e) {
    error = std::move(e);
    ended = true;
  };
  client::CallOptions options;
  options.carriage = call::Carriage::raw;
  options.kind = engine_->registry().find("docker/container/attach")->kind;
  calls_.push_back(
      c.call("docker/container/attach", {{"containerId", id}}, std::move(events), options));
  call = calls_.back().get();
  ASSERT_TRUE(run_until([&] { return raw_open || ended; }, 60s));
  ASSERT_TRUE(raw_open) << (error ? error->code + ": " + error->message : "ended");
  sh("docker start " + id + " >/dev/null");

  // A stall fails after 10 minutes rather than hanging; progress every 30 s.
  const auto t0 = std::chrono::steady_clock::now();
  pump();
  const auto deadline = t0 + 600s;
  while (!ended && std::chrono::steady_clock::now() < deadline) {
    run_until([&] { return ended; }, 30s);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ progress ] %.0f s: sent %.1f MiB, received %.1f MiB\n", s,
                static_cast<double>(sent) / (1 << 20),
                static_cast<double>(received.size()) / (1 << 20));
    std::fflush(stdout);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(ended) << "stalled: sent " << sent << ", received " << received.size() << " after "
                     << s << " s";
  ASSERT_FALSE(error) << error->code << ": " << error->message;
  EXPECT_EQ(received.size(), bytes.size());
  EXPECT_TRUE(received == bytes) << "stdout differs from stdin";
  EXPECT_EQ(exit_code, 0);
  std::printf(
      "[ measure  ] 64 MiB attach round trip over QUIC, 20 ms + 1%% loss each way: %.1f s "
      "(%.2f MiB/s each way)\n",
      s, 64 / s);
  if (relay_) {
    const ImpairmentStats st = relay_->stats();
    std::printf(
        "[ measure  ] relay: to server %lu forwarded, %lu lost, %lu over the limit; to "
        "client %lu forwarded, %lu lost, %lu over the limit\n",
        static_cast<unsigned long>(st.forwarded[0]), static_cast<unsigned long>(st.dropped[0]),
        static_cast<unsigned long>(st.overflow[0]), static_cast<unsigned long>(st.forwarded[1]),
        static_cast<unsigned long>(st.dropped[1]), static_cast<unsigned long>(st.overflow[1]));
    // The impairment really applied: datagrams were lost in both directions.
    EXPECT_GT(st.dropped[0], 0u);
    EXPECT_GT(st.dropped[1], 0u);
  } else {
    std::printf("[ measure  ] %s\n", run_command("tc -s qdisc show dev " + host_if_).out.c_str());
  }
}

}  // namespace
}  // namespace alk::test

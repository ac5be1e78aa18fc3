// The binaries end to end: `alknet-docker serve --config` with QUIC and unix listeners side by
// side, `alknet-docker call quic://…` with client certificates, per-connection log lines, and a
// SIGTERM drain; a killed and restarted server resets the connections of its previous life, and
// a killed server that stays down is noticed at the next datagram (ICMP port unreachable).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "client/call_client.h"
#include "support/call_outcome.h"
#include "support/engine_fixture.h"
#include "support/processes.h"
#include "support/test_certs.h"
#include "transport/quic/quic_client.h"
#include "transport/quic/quic_stream.h"
#include "wire/envelope.h"

namespace alk::test {
namespace {

using namespace std::chrono_literals;

const std::string kBinary = alknet_binary();

class QuicCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kBinary.c_str(), X_OK) != 0) GTEST_SKIP() << "alknet-docker is not built";
    port_ = free_udp_port();
    address_ = "quic://127.0.0.1:" + std::to_string(port_);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::remove(config_.c_str());
    std::remove(log_.c_str());
    std::remove(sock_.c_str());
  }

  // Starts `serve --config` with a SIGTERM grace period of `grace_s` seconds and the given
  // clientAuth, and waits until both listeners are up.
  void start_server(int grace_s = 2, const std::string& client_auth = "require") {
    std::ofstream(config_) << R"({"listen": [")" << address_ << R"(", "unix://)" << sock_
                           << R"("], "cert": ")" << cert_path("server.crt") << R"(", "key": ")"
                           << cert_path("server.key") << R"(", "clientCa": ")"
                           << cert_path("ca.crt") << R"(", "clientAuth": ")" << client_auth
                           << R"(", "shutdownGraceS": )" << grace_s
                           << R"(, "idleTimeoutMs": 20000})";
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      FILE* log = std::fopen(log_.c_str(), "w");
      ::dup2(::fileno(log), STDERR_FILENO);
      ::execl(kBinary.c_str(), kBinary.c_str(), "serve", "--config", config_.c_str(), nullptr);
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (read_whole_file(log_).find("listening on quic://") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_whole_file(log_);
      std::this_thread::sleep_for(50ms);
    }
    while (read_whole_file(log_).find("listening on unix://") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_whole_file(log_);
      std::this_thread::sleep_for(50ms);
    }
  }

  // SIGTERM, then the exit code (-1 after 20 s).
  int stop_server() {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }

  std::string tls(const std::string& client) {
    std::string args = " --ca " + cert_path("ca.crt");
    if (!client.empty()) {
      args += " --cert " + cert_path(client + ".crt") + " --key " + cert_path(client + ".key");
    }
    return args;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string address_;
  const std::string tag_ = std::to_string(::getpid());
  const std::string config_ = "/tmp/alk-quic-cli-" + tag_ + ".json";
  const std::string log_ = "/tmp/alk-quic-cli-" + tag_ + ".log";
  const std::string sock_ = "/tmp/alk-quic-cli-" + tag_ + ".sock";
};

// clientAuth "optional": a client without a certificate gets through the handshake as the
// anonymous peer (no scope: what needs one is FORBIDDEN), and its audit lines carry no cert field.
TEST_F(QuicCliTest, OptionalClientAuthLetsAClientWithoutACertificateInAsAnonymous) {
  start_server(2, "optional");
  auto r = run_alknet("call " + address_ + " docker/system/ping" + tls(""));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run_alknet("call " + address_ + " docker/container/list" + tls(""));
  EXPECT_EQ(r.exit_code, 125) << r.out;
  EXPECT_NE(r.out.find("FORBIDDEN"), std::string::npos) << r.out;
  r = run_alknet("call " + address_ + " docker/container/list" + tls("client-a"));
  EXPECT_EQ(r.exit_code, 0) << r.out;

  EXPECT_EQ(stop_server(), 0) << read_whole_file(log_);
  std::istringstream lines(read_whole_file(log_));
  int anonymous_calls = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" call peer=anonymous via=quic addr=127.0.0.1:") == std::string::npos) continue;
    ++anonymous_calls;
    EXPECT_EQ(line.find("cert="), std::string::npos) << line;
  }
  EXPECT_EQ(anonymous_calls, 2) << read_whole_file(log_);
}

TEST_F(QuicCliTest, ServeQuicAndUnixSideBySideThenDrainOnSigterm) {
  start_server();
  auto r = run_alknet("call " + address_ + " docker/system/ping" + tls("client-a"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run_alknet("call unix://" + sock_ + " docker/system/ping");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // No client certificate: the call fails with FORBIDDEN (exit 125, the error on stderr).
  r = run_alknet("call " + address_ + " docker/system/ping" + tls(""));
  EXPECT_EQ(r.exit_code, 125) << r.out;
  EXPECT_NE(r.out.find("FORBIDDEN"), std::string::npos) << r.out;
  // The server certificate checked against the wrong name.
  r = run_alknet("call " + address_ + " docker/system/ping" + tls("client-a") +
                 " --server-name wrong.example");
  EXPECT_EQ(r.exit_code, 125) << r.out;
  EXPECT_NE(r.out.find("wrong.example"), std::string::npos) << r.out;

  EXPECT_EQ(stop_server(), 0) << read_whole_file(log_);
  const std::string log = read_whole_file(log_);
  const std::string fp = cert_fingerprint("client-a");
  EXPECT_NE(log.find("quic connection open listener=" + address_ + " peer=" + fp),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("quic connection closed listener=" + address_ + " peer=" + fp),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("quic connection refused"), std::string::npos) << log;
  // The outcome is one word, the reason in words last: the client closed its connection, the
  // server refused the one without a certificate, the client refused the wrong server name.
  EXPECT_NE(log.find(" outcome=peer detail=connection closed by the client: client closed\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" outcome=tls detail="), std::string::npos) << log;
  EXPECT_NE(log.find(" outcome=tls_by_peer detail="), std::string::npos) << log;
  EXPECT_NE(log.find("call peer=" + fp + " via=quic addr=127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find(" cert=" + fp + " op="), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
}

TEST_F(QuicCliTest, SigtermWaitsForAnOpenCallThenResetsItAfterTheGrace) {
  start_server();
  const std::string id = [] {
    FILE* p = ::popen(
        "docker run -d --label alknet.test=1 --network none alknet-test/busybox:latest sleep 60",
        "r");
    char buf[128] = {0};
    if (p) {
      if (!std::fgets(buf, sizeof(buf), p)) buf[0] = 0;
      ::pclose(p);
    }
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }();
  ASSERT_FALSE(id.empty());
  // A follow that never ends on its own, in the background.
  const std::string out = "/tmp/alk-quic-cli-follow-" + tag_ + ".out";
  std::system(("(" + kBinary + " call " + address_ + " docker/container/logs '{\"containerId\":\"" +
               id + "\",\"follow\":true}'" + tls("client-a") + " >" + out +
               " 2>&1; echo exit=$? >>" + out + ") &")
                  .c_str());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (read_whole_file(log_).find("quic connection open") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(stop_server(), 0) << read_whole_file(log_);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 1.5) << "the open call must get its grace period";
  EXPECT_LT(s, 10.0);
  const std::string log = read_whole_file(log_);
  EXPECT_NE(log.find("grace period over: resetting 1 calls on " + address_), std::string::npos)
      << log;
  // The client's call failed (retryable) and it exited with 125.
  std::string result;
  for (int i = 0; i < 100 && result.find("exit=") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    result = read_whole_file(out);
  }
  EXPECT_NE(result.find("exit=125"), std::string::npos) << result;
  EXPECT_NE(result.find("\"retryable\":true"), std::string::npos) << result;
  std::remove(out.c_str());
  std::system(("docker rm -f " + id + " >/dev/null 2>&1").c_str());
}

// Runs `loop` until `done` or `limit`; returns whether `done` held.
bool run_until(uv_loop_t* loop, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    uv_run(loop, UV_RUN_NOWAIT);
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Mutual TLS as client "a" of the test CA.
client::ClientTlsOptions client_a_tls() {
  client::ClientTlsOptions tls;
  tls.ca = cert_path("ca.crt");
  tls.cert = cert_path("client-a.crt");
  tls.key = cert_path("client-a.key");
  return tls;
}

// What the server sent on one stream of a bare QuicClient: its bytes, and whether it ended.
class AnswerRecorder final : public transport::StreamReceiver {
 public:
  AnswerRecorder(std::string& bytes, bool& fin) : bytes_(bytes), fin_(fin) {}
  size_t on_bytes(std::string_view bytes) override {
    bytes_.append(bytes);
    return bytes.size();
  }
  void on_fin() override { fin_ = true; }
  void on_reset() override {}
  void on_drain() override {}
  void on_closed() override {}

 private:
  std::string& bytes_;
  bool& fin_;
};

// A client may FIN right after its request: its stream then closes as soon as the answer's last
// packet is in, while the ACK for that packet is still held back (QUIC delays ACKs up to
// max_ack_delay). A program whose loop runs only while its calls are open must still send that
// ACK before the loop lets go; else the server keeps the stream (its last bytes unacknowledged)
// and a SIGTERM drain waits out the whole grace period for a call that ended long before.
TEST_F(QuicCliTest, AClientWhoseLoopEndsWithItsLastCallStillAcknowledgesTheAnswer) {
  start_server(/*grace_s=*/10);
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::string answer;
  bool fin = false;
  std::string open_failure;
  auto client =
      transport::quic::QuicClient::connect(&loop, loopback_quic_client(port_, "client-a"));
  std::string request;
  wire::append_frame(request,
                     wire::Envelope{std::string(wire::kRequested),
                                    "p1",
                                    {{"operationId", "docker/system/ping"}, {"input", {}}}});
  client->open_stream([&](transport::quic::QuicStream* s, const transport::quic::QuicFailure* f) {
    if (!s) {
      open_failure = f->message;
      return;
    }
    s->adopt_receiver(std::make_unique<AnswerRecorder>(answer, fin));
    s->write(request);
    s->finish();
  });
  // A guard that keeps nothing alive: it only stops a loop that would otherwise never end.
  uv_timer_t guard;
  uv_timer_init(&loop, &guard);
  uv_timer_start(
      &guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 30000, 0);
  uv_unref(reinterpret_cast<uv_handle_t*>(&guard));
  // Returns once nothing holds the loop: the call has ended, and the client let go.
  uv_run(&loop, UV_RUN_DEFAULT);
  const bool guard_fired = uv_is_active(reinterpret_cast<uv_handle_t*>(&guard)) == 0;
  uv_timer_stop(&guard);
  EXPECT_FALSE(guard_fired) << "the client held the loop for 30 s after its call";
  ASSERT_EQ(open_failure, "");
  EXPECT_TRUE(fin);
  EXPECT_NE(answer.find(R"("ok":true)"), std::string::npos) << answer;  // a query: one answer

  // The loop no longer runs, and the connection is still open (the client is alive).
  ::kill(pid_, SIGTERM);
  int status = -1;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
    } else {
      std::this_thread::sleep_for(10ms);
    }
  }
  const std::string log = read_whole_file(log_);
  EXPECT_LT(pid_, 0) << "serve still drained 5 s after SIGTERM:\n" << log;
  EXPECT_EQ(log.find("grace period over"), std::string::npos) << log;

  client.reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST_F(QuicCliTest, SigtermLetsAnInFlightRunFinishWithinTheGraceThenExitsZero) {
  start_server(/*grace_s=*/10);
  const std::string label = "quic-cli-drain-" + tag_;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  int serve_status = -1;
  {
    client::CallClient c(&loop, client::parse_address(address_).value(), client_a_tls());
    CallOutcome run;
    auto call = c.call("docker/container/run",
                       {{"image", test_image()},
                        {"command", {"sh", "-c", "echo before; sleep 1; echo after; exit 3"}},
                        {"networkMode", "none"},
                        {"labels", {{"alknet-test", label}}}},
                       record_into(run));
    auto stdout_text = [&] {
      std::string text;
      for (const auto& o : run.outputs) {
        if (o.value("stream", "") == "stdout") text += o.value("text", "");
      }
      return text;
    };
    ASSERT_TRUE(run_until(
        &loop, [&] { return stdout_text() == "before\n" || run.ended; }, 60s))
        << run.describe();
    ASSERT_FALSE(run.ended) << run.describe();

    // SIGTERM while the container sleeps; the client keeps reading (its loop runs) meanwhile.
    ::kill(pid_, SIGTERM);
    ASSERT_TRUE(run_until(
        &loop,
        [&] {
          if (pid_ > 0 && ::waitpid(pid_, &serve_status, WNOHANG) == pid_) pid_ = -1;
          return run.ended && pid_ < 0;
        },
        30s))
        << "call ended: " << run.ended << ", serve exited: " << (pid_ < 0) << "\n"
        << read_whole_file(log_);
    ASSERT_FALSE(run.error) << run.describe();
    EXPECT_EQ(stdout_text(), "before\nafter\n");
    ASSERT_FALSE(run.outputs.empty());
    EXPECT_EQ(run.outputs.back(), (nlohmann::json{{"exitCode", 3}, {"terminal", true}}));
  }
  run_until(
      &loop, [&] { return uv_loop_alive(&loop) == 0; }, 10s);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  ASSERT_TRUE(WIFEXITED(serve_status)) << "serve did not exit by itself: " << serve_status;
  EXPECT_EQ(WEXITSTATUS(serve_status), 0) << read_whole_file(log_);
  const std::string log = read_whole_file(log_);
  EXPECT_NE(log.find("received SIGTERM"), std::string::npos) << log;
  EXPECT_EQ(log.find("grace period over"), std::string::npos) << "the call was cut off:\n" << log;
  const size_t call_line = log.find("op=docker/container/run");
  ASSERT_NE(call_line, std::string::npos) << log;
  EXPECT_NE(log.substr(call_line, log.find('\n', call_line) - call_line).find("outcome=ok"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
  run_command("docker rm -f $(docker ps -aq --filter label=alknet-test=" + label + ")");
}

TEST_F(QuicCliTest, AKilledServerRestartedWithItsKeyResetsTheOldConnectionAtOnce) {
  start_server();
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    const client::ClientTlsOptions tls_options = client_a_tls();
    client::ClientQuicOptions quic;
    quic.idle_timeout_ms = 60000;  // far beyond the limits below: only a reset can end it sooner
    client::CallClient c(&loop, client::parse_address(address_).value(), tls_options, quic);
    auto ping = [&](CallOutcome& out) {
      return c.call("docker/system/ping", nlohmann::json::object(), record_into(out));
    };

    CallOutcome first;
    auto call1 = ping(first);
    ASSERT_TRUE(run_until(
        &loop, [&] { return first.ended; }, 20s));
    ASSERT_FALSE(first.error) << first.error->message;
    ASSERT_TRUE(c.connected());

    // The server dies without a word (no CONNECTION_CLOSE) and comes back on the same port.
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    std::remove(log_.c_str());
    start_server();

    // The next call goes out on the old connection; the new server does not know it and answers
    // with a stateless reset derived from its key, so the call fails now and retryably.
    CallOutcome second;
    const auto t0 = std::chrono::steady_clock::now();
    auto call2 = ping(second);
    ASSERT_TRUE(run_until(
        &loop, [&] { return second.ended; }, 15s))
        << "the old connection was not reset (idle timeout is 60 s)";
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(second.error);
    EXPECT_TRUE(second.error->retryable) << second.error->message;
    EXPECT_NE(second.error->message.find("stateless reset"), std::string::npos)
        << second.error->message;
    EXPECT_LT(s, 10.0);

    CallOutcome third;  // a new connection to the new server
    auto call3 = ping(third);
    ASSERT_TRUE(run_until(
        &loop, [&] { return third.ended; }, 20s));
    EXPECT_FALSE(third.error) << third.error->message;
  }
  run_until(
      &loop, [&] { return uv_loop_alive(&loop) == 0; }, 10s);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST_F(QuicCliTest, AKilledServerThatStaysDownFailsOpenAndNewCallsAtOnce) {
  start_server();
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    const client::ClientTlsOptions tls_options = client_a_tls();
    client::ClientQuicOptions
        quic;  // idle timeout 30 s (the server's 20 s applies), keep-alive 10 s
    client::CallClient c(&loop, client::parse_address(address_).value(), tls_options, quic);
    auto start = [&](const std::string& op, CallOutcome& out) {
      return c.call(op, nlohmann::json::object(), record_into(out));
    };

    CallOutcome first;
    auto call1 = start("docker/system/ping", first);
    ASSERT_TRUE(run_until(
        &loop, [&] { return first.ended; }, 20s));
    ASSERT_FALSE(first.error) << first.error->message;
    // A call that stays open (daemon events) and sends nothing more on its own.
    CallOutcome open;
    auto open_call = start("docker/system/events", open);
    run_until(
        &loop, [] { return false; }, 500ms);
    ASSERT_FALSE(open.ended) << (open.error ? open.error->message : "ended");
    ASSERT_TRUE(c.connected());

    // The server dies without a word (no CONNECTION_CLOSE) and nothing takes its port.
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;

    // The next call's first datagram meets an ICMP port unreachable, which the client's connected
    // socket reports: the connection fails, and with it both calls, retryably. Without that, only
    // the keep-alive (10 s) or the idle timeout (20 s) would end it. 5 s is a generous ceiling,
    // not a timing: it takes a round trip on loopback.
    CallOutcome second;
    const auto t0 = std::chrono::steady_clock::now();
    auto call2 = start("docker/system/ping", second);
    ASSERT_TRUE(run_until(
        &loop, [&] { return second.ended && open.ended; }, 15s))
        << "the dead server was not noticed (keep-alive 10 s, idle timeout 20 s)";
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 5.0);
    for (const CallOutcome* o : {&second, &open}) {
      ASSERT_TRUE(o->error);
      EXPECT_TRUE(o->error->retryable) << o->error->message;
      EXPECT_NE(o->error->message.find("ICMP port unreachable"), std::string::npos)
          << o->error->message;
    }
    EXPECT_FALSE(c.connected());

    // A new call makes a new connection, refused at once as well while nothing listens there
    // (rather than after the 10 s handshake timeout).
    CallOutcome third;
    const auto t1 = std::chrono::steady_clock::now();
    auto call3 = start("docker/system/ping", third);
    ASSERT_TRUE(run_until(
        &loop, [&] { return third.ended; }, 15s));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(), 5.0);
    ASSERT_TRUE(third.error);
    EXPECT_TRUE(third.error->retryable) << third.error->message;
    EXPECT_NE(third.error->message.find("no server listens there"), std::string::npos)
        << third.error->message;

    // The server comes back on its port: the next call reconnects.
    std::remove(log_.c_str());
    start_server();
    CallOutcome fourth;
    auto call4 = start("docker/system/ping", fourth);
    ASSERT_TRUE(run_until(
        &loop, [&] { return fourth.ended; }, 20s));
    EXPECT_FALSE(fourth.error) << fourth.error->message;
    EXPECT_TRUE(c.connected());
  }
  run_until(
      &loop, [&] { return uv_loop_alive(&loop) == 0; }, 10s);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace alk::test

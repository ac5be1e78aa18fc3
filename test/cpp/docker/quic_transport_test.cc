// The QUIC transport end to end: a QuicServer in process (real UDP sockets on 127.0.0.1, real
// engine, real daemon) and the C++ CallClient over quic://. Mutual TLS and its refusals, many
// calls on one connection, the raw carriage, cancellation by stream reset, backpressure, and a
// server restart under an open client.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "call/session.h"
#include "client/call_client.h"
#include "support/engine_fixture.h"
#include "support/numbered_lines.h"
#include "support/test_certs.h"
#include "transport/quic/quic_client.h"
#include "transport/quic/quic_server.h"
#include "transport/quic/quic_stream.h"
#include "wire/envelope.h"
#include "wire/frame_decoder.h"

namespace alk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// What one client call saw.
struct CallResult {
  std::vector<json> outputs;
  std::optional<call::CallError> error;
  bool ended = false;
  bool raw_open = false;
  std::string raw_stdout;
  std::optional<int> exit_code;

  std::string text(const std::string& stream = "") const {
    std::string out;
    for (const auto& o : outputs) {
      if (!o.is_object() || !o.contains("text")) continue;
      if (!stream.empty() && o.value("stream", "") != stream) continue;
      out += o["text"].get<std::string>();
    }
    return out;
  }
  std::string describe() const {
    return error ? error->code + ": " + error->message : (ended ? "ok" : "not ended");
  }
};

client::ClientTlsOptions tls_for(const std::string& client, const std::string& ca = "ca.crt") {
  client::ClientTlsOptions tls;
  tls.ca = cert_path(ca);
  if (!client.empty()) {
    tls.cert = cert_path(client + ".crt");
    tls.key = cert_path(client + ".key");
  }
  return tls;
}

// What a server sent on one stream of a bare QuicClient (no CallClient in between).
struct StreamLog {
  std::vector<wire::Envelope> frames;
  std::string frame_error;   ///< the decoder's error, if the bytes were not valid frames
  std::string open_failure;  ///< why the stream could not be opened
  bool fin = false;
  bool reset = false;
  bool closed = false;
};

// Decodes the frames of one stream into a StreamLog, which must outlive the stream.
class FrameRecorder final : public transport::StreamReceiver {
 public:
  explicit FrameRecorder(StreamLog& log) : log_(log) {}
  size_t on_bytes(std::string_view bytes) override {
    decoder_.push(bytes);
    while (auto env = decoder_.next()) log_.frames.push_back(std::move(*env));
    if (decoder_.error() != wire::FrameError::none) {
      log_.frame_error = wire::describe(decoder_.error());
    }
    return bytes.size();
  }
  void on_fin() override { log_.fin = true; }
  void on_reset() override { log_.reset = true; }
  void on_drain() override {}
  void on_closed() override { log_.closed = true; }

 private:
  StreamLog& log_;
  wire::FrameDecoder decoder_;
};

// The outputs of the call.responded frames in `log`, in order.
std::vector<json> responded_outputs(const StreamLog& log) {
  std::vector<json> out;
  for (const auto& f : log.frames) {
    if (f.type == wire::kResponded) out.push_back(f.payload.value("output", json()));
  }
  return out;
}

class QuicTransportTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    if (HasFatalFailure()) return;
    start_server(0);
  }

  void TearDown() override {
    calls_.clear();
    clients_.clear();
    run_until([] { return false; }, 50ms);
    stop_server(/*drop=*/true);
    EngineFixture::TearDown();
  }

  void start_server(uint16_t port) {
    transport::quic::QuicServerConfig config;
    config.host = "127.0.0.1";
    config.port = port;
    config.tls.cert_file = cert_path("server.crt");
    config.tls.key_file = cert_path("server.key");
    config.tls.client_ca_file = cert_path("ca.crt");
    server_ = std::make_unique<transport::quic::QuicServer>(
        &loop_, config, [this](transport::ByteStream& stream, const std::string& peer_id) {
          call::SessionEnv env;
          env.registry = &engine_->registry();
          env.deferrer = &engine_->deferrer();
          env.peer.id = peer_id;
          env.peer.is_operator = true;
          env.on_call_end = [this](const call::CallRecord& r) { records_.push_back(r); };
          return std::make_unique<call::CallSession>(stream, std::move(env));
        });
    server_->set_connection_log(
        [this](const transport::quic::ConnectionRecord& r) { connections_.push_back(r); });
    auto ok = server_->listen();
    ASSERT_TRUE(ok.ok()) << ok.error();
    port_ = ntohs(reinterpret_cast<const sockaddr_in*>(&server_->address().storage)->sin_port);
  }

  void stop_server(bool drop) {
    if (!server_) return;
    bool closed = false;
    server_->close(drop, [&] { closed = true; });
    EXPECT_TRUE(run_until([&] { return closed; }, 20s)) << "the QUIC server did not close";
    server_.reset();
  }

  // A QuicClient configuration for this server as client "a" (CallClient hides the streams).
  transport::quic::QuicClientConfig bare_config() const {
    return loopback_quic_client(port_, "client-a");
  }

  client::CallClient& make_client(client::ClientTlsOptions tls,
                                  client::ClientQuicOptions quic = {}) {
    auto address = client::parse_address("quic://127.0.0.1:" + std::to_string(port_));
    EXPECT_TRUE(address.ok());
    clients_.push_back(std::make_unique<client::CallClient>(&loop_, address.value(), std::move(tls),
                                                            std::move(quic)));
    return *clients_.back();
  }

  client::ClientCall& start_call(client::CallClient& c, const std::string& op, json input,
                                 CallResult& r, client::CallOptions options = {},
                                 client::CallEvents events = {}) {
    events.on_output = [&r](const json& o) { r.outputs.push_back(o); };
    events.on_raw_open = [&r](bool) { r.raw_open = true; };
    if (!events.on_chunk) {
      events.on_chunk = [&r](wire::ChunkType t, std::string_view b) {
        if (t == wire::ChunkType::stdout_data) r.raw_stdout.append(b);
      };
    }
    events.on_exit = [&r](int code) { r.exit_code = code; };
    events.on_end = [&r](std::optional<call::CallError> e) {
      r.error = std::move(e);
      r.ended = true;
    };
    if (!options.kind) {
      if (const auto* spec = engine_->registry().find(op)) options.kind = spec->kind;
    }
    calls_.push_back(c.call(op, std::move(input), std::move(events), std::move(options)));
    return *calls_.back();
  }

  // Runs the loop until the engine holds no busy and no hijacked docker connection; false when
  // some are still held after `limit` (a leak).
  bool docker_connections_released(std::chrono::milliseconds limit) {
    return run_until(
        [&] {
          const auto stats = engine_->docker().stats();
          return stats.busy == 0 && stats.hijacked == 0;
        },
        limit);
  }

  // Containers carrying this test's label, in any state.
  std::string labelled(const std::string& label) {
    return sh("docker ps -aq --filter label=alknet-test=" + label, true);
  }

  std::unique_ptr<transport::quic::QuicServer> server_;
  uint16_t port_ = 0;
  std::vector<call::CallRecord> records_;
  std::vector<transport::quic::ConnectionRecord> connections_;
  std::vector<std::unique_ptr<client::ClientCall>> calls_;
  std::vector<std::unique_ptr<client::CallClient>> clients_;
};

TEST_F(QuicTransportTest, MutualTlsHandshakeAndPeerIdentity) {
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  start_call(c, "docker/system/ping", json::object(), r);
  ASSERT_TRUE(run_until([&] { return r.ended; }, 30s));
  ASSERT_FALSE(r.error) << r.describe();
  ASSERT_EQ(r.outputs.size(), 1u);
  ASSERT_FALSE(connections_.empty());
  EXPECT_EQ(connections_[0].event, "open");
  EXPECT_EQ(connections_[0].peer, cert_fingerprint("client-a"));
  EXPECT_EQ(connections_[0].address.rfind("127.0.0.1:", 0), 0u);
  ASSERT_TRUE(run_until([&] { return !records_.empty(); }, 5s));
  EXPECT_EQ(records_[0].peer, cert_fingerprint("client-a"));
  EXPECT_EQ(records_[0].operation, "docker/system/ping");
  EXPECT_EQ(records_[0].outcome, "ok");
  EXPECT_EQ(records_[0].transport,
            "quic addr=" + connections_[0].address + " cert=" + cert_fingerprint("client-a"));
  EXPECT_TRUE(c.connected());

  // A second client certificate is a second identity.
  auto& b = make_client(tls_for("client-b"));
  CallResult rb;
  start_call(b, "docker/system/ping", json::object(), rb);
  ASSERT_TRUE(run_until([&] { return rb.ended && records_.size() == 2; }, 30s));
  EXPECT_EQ(records_[1].peer, cert_fingerprint("client-b"));
  EXPECT_NE(records_[1].peer, records_[0].peer);
}

TEST_F(QuicTransportTest, ClientWithoutCertificateIsRefused) {
  auto& c = make_client(tls_for(""));
  CallResult r;
  start_call(c, "docker/system/ping", json::object(), r);
  ASSERT_TRUE(run_until([&] { return r.ended; }, 30s));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "FORBIDDEN") << r.describe();
  EXPECT_FALSE(r.error->retryable);
  EXPECT_NE(r.error->message.find("certificate_required"), std::string::npos) << r.describe();
  ASSERT_TRUE(run_until([&] { return !connections_.empty(); }, 5s));
  EXPECT_EQ(connections_[0].event, "refused");
  EXPECT_EQ(connections_[0].outcome, "tls") << connections_[0].detail;
  EXPECT_TRUE(records_.empty());
}

TEST_F(QuicTransportTest, CertificateFromAnotherCaIsRefused) {
  auto& c = make_client(tls_for("other-client"));
  CallResult r;
  start_call(c, "docker/system/ping", json::object(), r);
  ASSERT_TRUE(run_until([&] { return r.ended; }, 30s));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "FORBIDDEN") << r.describe();
  EXPECT_NE(r.error->message.find("bad_certificate"), std::string::npos) << r.describe();
  ASSERT_TRUE(run_until([&] { return !connections_.empty(); }, 5s));
  EXPECT_EQ(connections_[0].event, "refused");
  EXPECT_EQ(connections_[0].outcome, "tls");
  EXPECT_NE(connections_[0].detail.find("client certificate rejected"), std::string::npos)
      << connections_[0].detail;
  EXPECT_TRUE(records_.empty());
}

TEST_F(QuicTransportTest, WrongAlpnIsRefused) {
  client::ClientQuicOptions quic;
  quic.alpn = "h3";
  auto& c = make_client(tls_for("client-a"), quic);
  CallResult r;
  start_call(c, "docker/system/ping", json::object(), r);
  ASSERT_TRUE(run_until([&] { return r.ended; }, 30s));
  ASSERT_TRUE(r.error);
  EXPECT_FALSE(r.error->retryable);
  EXPECT_NE(r.error->message.find("no_application_protocol"), std::string::npos) << r.describe();
  EXPECT_TRUE(records_.empty());
}

TEST_F(QuicTransportTest, ClientHelloWithoutAlpnIsRefusedAndTheServerServesTheNextClient) {
  // A QuicClient of our own: CallClient always offers an ALPN.
  transport::quic::QuicClientConfig config = bare_config();
  config.tls.alpn.clear();  // no ALPN extension in the ClientHello at all
  // Declared before the client, whose callbacks refer to them: on an early return it goes first.
  bool opened = false;
  std::optional<transport::quic::QuicFailure> failure;
  auto bare = transport::quic::QuicClient::connect(&loop_, config);
  bare->open_stream([&](transport::quic::QuicStream* s, const transport::quic::QuicFailure* f) {
    if (s) {
      opened = true;
      s->reset();
    } else {
      failure = *f;
    }
  });
  ASSERT_TRUE(run_until([&] { return opened || failure; }, 30s));
  EXPECT_FALSE(opened) << "the server accepted a ClientHello without ALPN";
  ASSERT_TRUE(failure);
  EXPECT_FALSE(failure->retryable) << failure->message;
  EXPECT_NE(failure->message.find("no_application_protocol"), std::string::npos)
      << failure->message;
  EXPECT_FALSE(bare->established());
  ASSERT_TRUE(run_until([&] { return !connections_.empty(); }, 5s));
  EXPECT_EQ(connections_[0].event, "refused");
  bare.reset();

  // The server is unharmed: a client that offers alknet/call is served.
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  start_call(c, "docker/system/ping", json::object(), r);
  ASSERT_TRUE(run_until([&] { return r.ended; }, 30s));
  EXPECT_FALSE(r.error) << r.describe();
  ASSERT_TRUE(run_until([&] { return records_.size() == 1; }, 5s));
  EXPECT_EQ(records_[0].outcome, "ok");
  EXPECT_EQ(records_[0].peer, cert_fingerprint("client-a"));
}

TEST_F(QuicTransportTest, UntrustedServerCertificateIsRefusedByTheClient) {
  auto& c = make_client(tls_for("client-a", "other-ca.crt"));
  CallResult r;
  start_call(c, "docker/system/ping", json::object(), r);
  ASSERT_TRUE(run_until([&] { return r.ended; }, 30s));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "INTERNAL");
  EXPECT_FALSE(r.error->retryable);
  EXPECT_NE(r.error->message.find("server certificate"), std::string::npos) << r.describe();
  EXPECT_TRUE(records_.empty());
}

TEST_F(QuicTransportTest, HundredConcurrentLogSubscriptionsOnOneConnection) {
  const size_t n = 2000;  // 188 kB each, 18.8 MB in all
  const std::string id = create_container("awk '" + numbered_lines_awk(n) + "'");
  sh("docker start " + id + " >/dev/null && docker wait " + id + " >/dev/null");
  auto& c = make_client(tls_for("client-a"));
  std::vector<CallResult> results(100);
  for (auto& r : results) start_call(c, "docker/container/logs", {{"containerId", id}}, r);
  ASSERT_TRUE(run_until(
      [&] {
        for (const auto& r : results) {
          if (!r.ended) return false;
        }
        return true;
      },
      180s));
  const std::string expected = numbered_lines(n);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_FALSE(results[i].error) << "call " << i << ": " << results[i].describe();
    EXPECT_EQ(results[i].outputs.size(), n) << "call " << i;
    EXPECT_TRUE(results[i].text() == expected) << "call " << i << " content differs";
  }
  EXPECT_EQ(server_->connections(), 1u);
  ASSERT_TRUE(run_until([&] { return records_.size() == 100; }, 10s));
  for (const auto& rec : records_) EXPECT_EQ(rec.outcome, "ok");
}

TEST_F(QuicTransportTest, SixteenMiBAttachRoundTripOverTheRawCarriage) {
  const std::string id = create_container("cat", "-i");  // OpenStdin + StdinOnce
  auto& c = make_client(tls_for("client-a"));
  const std::string bytes = pseudo_random_bytes(size_t{16} << 20);
  CallResult r;
  size_t sent = 0;
  bool eof_sent = false;
  client::ClientCall* call = nullptr;
  auto pump = [&] {
    while (call && r.raw_open && !eof_sent && call->writable()) {
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
  events.on_drain = pump;
  client::CallOptions options;
  options.carriage = call::Carriage::raw;
  call = &start_call(c, "docker/container/attach", {{"containerId", id}}, r, options, events);
  ASSERT_TRUE(run_until([&] { return r.raw_open || r.ended; }, 30s)) << r.describe();
  ASSERT_TRUE(r.raw_open) << r.describe();
  sh("docker start " + id + " >/dev/null");
  const auto t0 = std::chrono::steady_clock::now();
  pump();
  ASSERT_TRUE(run_until([&] { return r.ended; }, 240s))
      << "sent " << sent << ", stdout so far " << r.raw_stdout.size();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.error) << r.describe();
  EXPECT_EQ(r.raw_stdout.size(), bytes.size());
  EXPECT_TRUE(r.raw_stdout == bytes) << "stdout differs from stdin";
  EXPECT_EQ(r.exit_code, 0);
  std::printf("[ measure  ] 16 MiB attach round trip over QUIC: %.2f s (%.1f MiB/s each way)\n", s,
              16 / s);
}

TEST_F(QuicTransportTest, ExecExitCodeSeven) {
  const std::string id = create_container("sleep 120");
  sh("docker start " + id + " >/dev/null");
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  start_call(c, "docker/container/exec",
             {{"containerId", id}, {"command", {"sh", "-c", "echo out; echo err >&2; exit 7"}}}, r);
  ASSERT_TRUE(run_until([&] { return r.ended; }, 60s));
  ASSERT_FALSE(r.error) << r.describe();
  ASSERT_FALSE(r.outputs.empty());
  EXPECT_EQ(r.outputs.back(), (json{{"exitCode", 7}, {"terminal", true}}));
  EXPECT_EQ(r.text("stdout"), "out\n");
  EXPECT_EQ(r.text("stderr"), "err\n");
}

// Stdin that reaches the server while it still sets up the docker side of a raw call waits in the
// transport (the session stops reading). A call that then fails before the switch to raw must
// read on, so that the client's end of stream is seen and the stream is released: before, each
// such call kept its stream (and a unit of the connection's stream credit) for good.
TEST_F(QuicTransportTest, ARawCallThatFailsWhileItsStdinWaitsStillReleasesItsStream) {
  auto& c = make_client(tls_for("client-a"));
  client::CallOptions options;
  options.carriage = call::Carriage::raw;
  constexpr int kCalls = 8;
  for (int i = 0; i < kCalls; ++i) {
    CallResult r;
    auto& call =
        start_call(c, "docker/container/exec",
                   {{"containerId", "alknet-no-such-container"}, {"command", {"cat"}}}, r, options);
    // The exec's docker request is in flight: the server is preparing the raw carriage.
    ASSERT_TRUE(run_until([&] { return engine_->docker().stats().busy > 0 || r.ended; }, 10s));
    call.send_stdin("stdin while the server prepares\n");
    call.end_stdin();
    ASSERT_TRUE(run_until([&] { return r.ended; }, 30s)) << r.describe();
    ASSERT_TRUE(r.error) << r.describe();
    EXPECT_EQ(r.error->code, "CONTAINER_NOT_FOUND") << r.describe();
  }
  EXPECT_TRUE(run_until([&] { return server_->calls() == 0; }, 5s))
      << server_->calls() << " of " << kCalls << " failed raw calls still hold their stream";
  EXPECT_EQ(records_.size(), size_t{kCalls});
}

TEST_F(QuicTransportTest, ResetOfARunStreamKillsAndRemovesTheContainer) {
  const std::string label = "quic-reset-" + std::to_string(::getpid());
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  auto& call = start_call(c, "docker/container/run",
                          {{"image", test_image()},
                           {"command", {"sh", "-c", "while true; do echo tick; sleep 0.1; done"}},
                           {"networkMode", "none"},
                           {"labels", {{"alknet-test", label}}}},
                          r);
  ASSERT_TRUE(run_until([&] { return r.text().find("tick") != std::string::npos || r.ended; }, 60s))
      << r.describe();
  ASSERT_FALSE(r.ended) << r.describe();
  std::string id;
  for (const auto& o : r.outputs) {
    if (o.contains("containerId")) id = o["containerId"];
  }
  ASSERT_FALSE(id.empty());
  containers_.push_back(id);
  EXPECT_FALSE(labelled(label).empty());
  const auto held = engine_->docker().stats();
  EXPECT_GE(held.busy + held.hijacked, 1u) << "the running call holds no docker connection";
  call.cancel();  // RESET_STREAM + STOP_SENDING
  ASSERT_TRUE(run_until([&] { return !records_.empty(); }, 20s));
  EXPECT_EQ(records_[0].outcome, "cancelled");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    run_until([] { return false; }, 200ms);
    gone = labelled(label).empty();
  }
  EXPECT_TRUE(gone) << "the container of the cancelled run is still there";
  EXPECT_FALSE(r.ended);  // a cancelled call reports nothing
  // Its docker connections (output stream, wait, kill and remove) are all given back.
  EXPECT_TRUE(docker_connections_released(10s))
      << "busy " << engine_->docker().stats().busy << ", hijacked "
      << engine_->docker().stats().hijacked;
}

TEST_F(QuicTransportTest, ResetOfAnAttachStreamReleasesTheHijackedConnection) {
  // No stdin (with StdinOnce, the end of the attach would end the container's input and so the
  // container): only the call's own doing could stop it.
  const std::string id = create_container("sh -c 'while true; do echo tick; sleep 0.1; done'");
  sh("docker start " + id + " >/dev/null");
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  client::CallOptions options;
  options.carriage = call::Carriage::raw;
  auto& call = start_call(c, "docker/container/attach", {{"containerId", id}}, r, options);
  ASSERT_TRUE(
      run_until([&] { return r.raw_stdout.find("tick\n") != std::string::npos || r.ended; }, 30s))
      << r.describe() << ", stdout " << r.raw_stdout;
  ASSERT_FALSE(r.ended) << r.describe();
  EXPECT_EQ(engine_->docker().stats().hijacked, 1u);
  call.cancel();  // RESET_STREAM + STOP_SENDING
  ASSERT_TRUE(run_until([&] { return !records_.empty(); }, 20s));
  EXPECT_EQ(records_[0].outcome, "cancelled");
  EXPECT_TRUE(docker_connections_released(10s))
      << "busy " << engine_->docker().stats().busy << ", hijacked "
      << engine_->docker().stats().hijacked;
  EXPECT_FALSE(r.ended);
  // The call did not start the container, so it does not stop it either.
  EXPECT_EQ(sh("docker inspect -f '{{.State.Running}}' " + id), "true");
}

TEST_F(QuicTransportTest, AClientThatFinsRightAfterTheRequestStillGetsTheWholeAnswer) {
  const size_t n = 500;
  const std::string logged = create_container("awk '" + numbered_lines_awk(n) + "'");
  sh("docker start " + logged + " >/dev/null && docker wait " + logged + " >/dev/null");
  const std::string label = "quic-fin-" + std::to_string(::getpid());
  // Declared before the client, whose receivers write to them: on an early return it goes first.
  StreamLog logs, run;
  auto bare = transport::quic::QuicClient::connect(&loop_, bare_config());
  // Opens a stream, writes the request and FINs at once: the client has nothing more to say.
  auto request_then_fin = [&](StreamLog& log, const std::string& id, const std::string& op,
                              json input) {
    std::string frame;
    wire::append_frame(frame, wire::Envelope{std::string(wire::kRequested),
                                             id,
                                             {{"operationId", op}, {"input", std::move(input)}}});
    bare->open_stream(
        [&log, frame](transport::quic::QuicStream* s, const transport::quic::QuicFailure* f) {
          if (!s) {
            log.open_failure = f->message;
            return;
          }
          s->adopt_receiver(std::make_unique<FrameRecorder>(log));
          s->write(frame);
          s->finish();
        });
  };
  request_then_fin(logs, "l1", "docker/container/logs", {{"containerId", logged}});
  // The run's answer comes long after the FIN: the container sleeps first.
  request_then_fin(run, "r1", "docker/container/run",
                   {{"image", test_image()},
                    {"command", {"sh", "-c", "sleep 0.5; echo done; exit 4"}},
                    {"networkMode", "none"},
                    {"labels", {{"alknet-test", label}}}});
  ASSERT_TRUE(run_until(
      [&] {
        return (logs.closed || !logs.open_failure.empty()) &&
               (run.closed || !run.open_failure.empty());
      },
      60s))
      << "logs: " << logs.frames.size() << " frames, run: " << run.frames.size() << " frames";
  for (const StreamLog* log : {&logs, &run}) {
    EXPECT_EQ(log->open_failure, "");
    EXPECT_EQ(log->frame_error, "");
    EXPECT_FALSE(log->reset) << "the server reset a half-closed call";
    EXPECT_TRUE(log->fin);
    ASSERT_FALSE(log->frames.empty());
    EXPECT_EQ(log->frames.back().type, wire::kCompleted) << log->frames.back().payload.dump();
  }

  const std::vector<json> log_outputs = responded_outputs(logs);
  EXPECT_EQ(log_outputs.size(), n);
  std::string text;
  for (const auto& o : log_outputs) text += o.value("text", "");
  EXPECT_TRUE(text == numbered_lines(n)) << "the logs differ";

  const std::vector<json> run_outputs = responded_outputs(run);
  ASSERT_FALSE(run_outputs.empty());
  for (const auto& o : run_outputs) {
    if (o.contains("containerId")) containers_.push_back(o["containerId"]);
  }
  std::string run_text;
  for (const auto& o : run_outputs) {
    if (o.value("stream", "") == "stdout") run_text += o.value("text", "");
  }
  EXPECT_EQ(run_text, "done\n");
  EXPECT_EQ(run_outputs.back(), (json{{"exitCode", 4}, {"terminal", true}}));

  ASSERT_TRUE(run_until([&] { return records_.size() == 2; }, 10s));
  for (const auto& rec : records_) EXPECT_EQ(rec.outcome, "ok") << rec.operation;
  bare.reset();
  sh("docker rm -f $(docker ps -aq --filter label=alknet-test=" + label + ") >/dev/null 2>&1",
     true);
}

// Counts what one stream delivered to the server, and how many deliveries it took.
struct DeliveryLog {
  size_t deliveries = 0;
  size_t bytes = 0;
  bool fin = false;
};

class DeliveryCounter final : public transport::StreamReceiver {
 public:
  explicit DeliveryCounter(DeliveryLog& log) : log_(log) {}
  size_t on_bytes(std::string_view bytes) override {
    ++log_.deliveries;
    log_.bytes += bytes.size();
    return bytes.size();
  }
  void on_fin() override { log_.fin = true; }
  void on_reset() override {}
  void on_drain() override {}
  void on_closed() override {}

 private:
  DeliveryLog& log_;
};

TEST_F(QuicTransportTest, DatagramsReadInOneTurnReachTheReceiverInOneDelivery) {
  // A server of its own, whose receiver only counts.
  DeliveryLog log;
  transport::quic::QuicServerConfig config;
  config.host = "127.0.0.1";
  config.port = 0;  // any free port
  config.tls.cert_file = cert_path("server.crt");
  config.tls.key_file = cert_path("server.key");
  config.tls.client_ca_file = cert_path("ca.crt");
  auto counting = std::make_unique<transport::quic::QuicServer>(
      &loop_, config, [&log](transport::ByteStream&, const std::string&) {
        return std::make_unique<DeliveryCounter>(log);
      });
  ASSERT_TRUE(counting->listen().ok());
  auto client_config = bare_config();
  client_config.port =
      ntohs(reinterpret_cast<const sockaddr_in*>(&counting->address().storage)->sin_port);
  auto bare = transport::quic::QuicClient::connect(&loop_, client_config);
  const size_t total = size_t{8} << 20;
  std::string open_failure;
  bare->open_stream([&](transport::quic::QuicStream* s, const transport::quic::QuicFailure* f) {
    if (!s) {
      open_failure = f->message;
      return;
    }
    s->write(std::string(total, 'x'));
    s->finish();
  });
  const bool finished = run_until([&] { return log.fin || !open_failure.empty(); }, 30s);
  bare.reset();
  bool closed = false;
  counting->close(/*drop=*/true, [&] { closed = true; });
  EXPECT_TRUE(run_until([&] { return closed; }, 10s));
  ASSERT_TRUE(finished) << log.bytes << " of " << total << " bytes arrived";
  ASSERT_EQ(open_failure, "");
  EXPECT_EQ(log.bytes, total);
  // A datagram carries at most 16 KiB of stream data (the loopback datagram size) and the
  // client sends up to four per turn (ngtcp2's 64 KiB send quantum): a delivery per datagram
  // takes over 512 deliveries, one per turn's read about 130.
  EXPECT_LT(log.deliveries, total / (32u << 10)) << "deliveries: " << log.deliveries;
}

TEST_F(QuicTransportTest, AClientThatDoesNotReadStopsTheServerReadingDocker) {
  const size_t n = 60000;  // 5.6 MB of logs
  const std::string id = create_container("awk '" + numbered_lines_awk(n) + "'");
  sh("docker start " + id + " >/dev/null && docker wait " + id + " >/dev/null");
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  auto& call = start_call(c, "docker/container/logs", {{"containerId", id}}, r);
  call.pause();
  run_until([] { return false; }, 1500ms);
  const size_t queued_1 = server_->queued_bytes();
  run_until([] { return false; }, 1000ms);
  const size_t queued_2 = server_->queued_bytes();
  EXPECT_FALSE(r.ended);
  EXPECT_TRUE(r.outputs.empty());
  // The session stops the handler at ~1 MiB queued; the stream window bounds what is in flight.
  EXPECT_GT(queued_1, 0u);
  EXPECT_LT(queued_2, size_t{3} << 20);
  EXPECT_EQ(queued_1, queued_2) << "the server kept producing while the client did not read";
  call.resume();
  ASSERT_TRUE(run_until([&] { return r.ended; }, 120s));
  ASSERT_FALSE(r.error) << r.describe();
  EXPECT_TRUE(r.text() == numbered_lines(n));
}

// Resident set of this process (server, engine and client all live here), in bytes.
size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

TEST_F(QuicTransportTest,
       AFollowerThatStopsReadingKeepsServerMemoryBoundedWhileTheContainerWrites) {
  // The container writes without pause for the whole test; the follower reads nothing for 4 s.
  const std::string id = create_container(
      "sh -c 'i=0; while true; do echo \"line $i 0123456789abcdef0123456789abcdef\"; "
      "i=$((i+1)); done'");
  sh("docker start " + id + " >/dev/null");
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  auto& call = start_call(c, "docker/container/logs", {{"containerId", id}, {"follow", true}}, r);
  call.pause();
  run_until([] { return false; }, 1500ms);
  const size_t queued_1 = server_->queued_bytes();
  const size_t rss_1 = resident_bytes();
  run_until([] { return false; }, 2500ms);
  const size_t queued_2 = server_->queued_bytes();
  const size_t rss_2 = resident_bytes();
  EXPECT_EQ(sh("docker inspect -f '{{.State.Running}}' " + id), "true")
      << "the container must still be writing";
  EXPECT_FALSE(r.ended) << r.describe();
  EXPECT_TRUE(r.outputs.empty());
  // The session stops reading the daemon at ~1 MiB queued; the stream window bounds the rest.
  EXPECT_GT(queued_1, 0u);
  EXPECT_LT(queued_2, size_t{3} << 20);
  EXPECT_LT(rss_2, rss_1 + (size_t{16} << 20))
      << "the process grew by " << (rss_2 - rss_1) / 1024 << " KiB while the client did not read";
  call.resume();
  ASSERT_TRUE(run_until([&] { return r.outputs.size() > 1000; }, 30s))
      << "the follow did not flow again after resume: " << r.describe();
  call.cancel();  // no on_end for a cancel: the server's record of the call tells it ended
  ASSERT_TRUE(run_until([&] { return !records_.empty(); }, 10s));
  EXPECT_EQ(records_.back().outcome, "cancelled");
  sh("docker rm -f " + id + " >/dev/null");
}

TEST_F(QuicTransportTest, ServerRestartFailsOpenCallsRetryablyAndANewCallReconnects) {
  const std::string id = create_container("sleep 300");
  sh("docker start " + id + " >/dev/null");
  auto& c = make_client(tls_for("client-a"));
  CallResult r1;
  start_call(c, "docker/container/logs", {{"containerId", id}, {"follow", true}}, r1);
  ASSERT_TRUE(run_until([&] { return server_->calls() == 1; }, 30s));
  const uint16_t port = port_;
  // SIGTERM-like: stop accepting, then the grace period ends and open calls are reset.
  bool closed = false;
  server_->close(/*drop=*/false, [&] { closed = true; });
  run_until([] { return false; }, 200ms);
  EXPECT_FALSE(closed) << "a graceful close must wait for the open call";
  server_->drop_connections();
  ASSERT_TRUE(run_until([&] { return closed; }, 20s));
  server_.reset();
  ASSERT_TRUE(run_until([&] { return r1.ended; }, 20s));
  ASSERT_TRUE(r1.error);
  EXPECT_TRUE(r1.error->retryable) << r1.describe();
  EXPECT_FALSE(c.connected());

  start_server(port);
  CallResult r2;
  start_call(c, "docker/system/ping", json::object(), r2);
  ASSERT_TRUE(run_until([&] { return r2.ended; }, 30s));
  EXPECT_FALSE(r2.error) << r2.describe();
  EXPECT_TRUE(c.connected());
}

TEST_F(QuicTransportTest, GracefulCloseLetsAnInFlightRunFinishThenCloses) {
  const std::string label = "quic-graceful-" + std::to_string(::getpid());
  auto& c = make_client(tls_for("client-a"));
  CallResult r;
  start_call(c, "docker/container/run",
             {{"image", test_image()},
              {"command", {"sh", "-c", "echo before; sleep 1; echo after; exit 3"}},
              {"networkMode", "none"},
              {"labels", {{"alknet-test", label}}}},
             r);
  ASSERT_TRUE(
      run_until([&] { return r.text().find("before") != std::string::npos || r.ended; }, 60s))
      << r.describe();
  ASSERT_FALSE(r.ended) << r.describe();
  for (const auto& o : r.outputs) {
    if (o.contains("containerId")) containers_.push_back(o["containerId"]);
  }
  // SIGTERM's first step: stop accepting and wait for the open call (no drop_connections here).
  bool closed = false;
  bool call_ended_at_close = false;
  size_t records_at_close = 0;
  server_->close(/*drop=*/false, [&] {
    closed = true;
    call_ended_at_close = r.ended;
    records_at_close = records_.size();
  });
  ASSERT_TRUE(run_until([&] { return closed; }, 30s))
      << "the server did not close: " << r.describe();
  server_.reset();
  EXPECT_TRUE(call_ended_at_close) << "the server closed before the client saw the call end";
  EXPECT_EQ(records_at_close, 1u);
  ASSERT_TRUE(r.ended);
  ASSERT_FALSE(r.error) << r.describe();
  EXPECT_EQ(r.text("stdout"), "before\nafter\n");
  ASSERT_FALSE(r.outputs.empty());
  EXPECT_EQ(r.outputs.back(), (json{{"exitCode", 3}, {"terminal", true}}));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].operation, "docker/container/run");
  EXPECT_EQ(records_[0].outcome, "ok");
  sh("docker rm -f $(docker ps -aq --filter label=alknet-test=" + label + ") >/dev/null 2>&1",
     true);
}

TEST_F(QuicTransportTest, CallsDuringShutdownAreRefusedRetryably) {
  auto& c = make_client(tls_for("client-a"));
  CallResult warm;
  start_call(c, "docker/system/ping", json::object(), warm);
  ASSERT_TRUE(run_until([&] { return warm.ended; }, 30s));
  const std::string id = create_container("sleep 300");
  sh("docker start " + id + " >/dev/null");
  CallResult open;
  start_call(c, "docker/container/logs", {{"containerId", id}, {"follow", true}}, open);
  ASSERT_TRUE(run_until([&] { return server_->calls() == 1; }, 30s));
  bool closed = false;
  server_->close(/*drop=*/false, [&] { closed = true; });
  CallResult late;
  start_call(c, "docker/system/ping", json::object(), late);
  ASSERT_TRUE(run_until([&] { return late.ended; }, 20s));
  ASSERT_TRUE(late.error);
  EXPECT_TRUE(late.error->retryable) << late.describe();
  EXPECT_FALSE(open.ended);
  server_->drop_connections();
  ASSERT_TRUE(run_until([&] { return closed && open.ended; }, 20s));
  server_.reset();
}

}  // namespace
}  // namespace alk::test

// The sans-I/O QUIC connection: a client and a server driven in memory by a small discrete-event
// simulation with injected time (1 ms one-way latency, no sockets, no clocks).
#include "transport/quic/quic_connection.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "support/test_certs.h"

namespace alk::transport::quic {
namespace {

using test::cert_fingerprint;
using test::cert_path;

constexpr Timestamp kMs = 1'000'000;

struct Datagram {
  Timestamp at;
  std::string bytes;
};

// What one side saw, and how it reacts to stream events.
struct Side {
  std::unique_ptr<QuicConnection> conn;
  std::vector<QuicEvent> events;
  std::function<void(QuicConnection&, const QuicEvent&)> on_event;
  std::deque<Datagram> inbox;
  bool ended = false;
  bool handshake = false;

  void drain() {
    if (!conn) return;
    QuicEvent ev;
    while (conn->next_event(ev)) {
      events.push_back(ev);
      if (ev.type == QuicEvent::Type::ended) ended = true;
      if (ev.type == QuicEvent::Type::handshake_completed) handshake = true;
      if (on_event) on_event(*conn, ev);
    }
  }
  size_t count(QuicEvent::Type t) const {
    size_t n = 0;
    for (const auto& e : events) n += e.type == t;
    return n;
  }
};

class QuicPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    caddr_ = SocketAddress::numeric("127.0.0.1", 40000).value();
    saddr_ = SocketAddress::numeric("127.0.0.1", 4433).value();
    server_tls_config_.cert_file = cert_path("server.crt");
    server_tls_config_.key_file = cert_path("server.key");
    server_tls_config_.client_ca_file = cert_path("ca.crt");
    client_tls_config_.ca_file = cert_path("ca.crt");
    client_tls_config_.cert_file = cert_path("client-a.crt");
    client_tls_config_.key_file = cert_path("client-a.key");
    options_.idle_timeout_ms = 30000;
    options_.keep_alive_ms = 0;
  }

  void start() {
    auto st = TlsCredentials::for_server(server_tls_config_);
    ASSERT_TRUE(st.ok()) << st.error();
    server_tls_ = st.value();
    auto ct = TlsCredentials::for_client(client_tls_config_);
    ASSERT_TRUE(ct.ok()) << ct.error();
    auto c =
        QuicConnection::connect(caddr_, saddr_, "127.0.0.1", ct.value(), client_options(), now_);
    ASSERT_TRUE(c.ok()) << c.error();
    client_.conn = std::move(c).value();
  }

  QuicOptions client_options() const {
    QuicOptions o = options_;
    return o;
  }

  // Sends what each side has to send; the datagrams arrive after the latency.
  void write_all() {
    auto emit_to = [this](Side& dest) {
      return [this, &dest](const SocketAddress&, const uint8_t* d, size_t n) {
        if (drop_next_ > 0) {
          --drop_next_;
          return true;
        }
        largest_datagram_ = std::max(largest_datagram_, n);
        dest.inbox.push_back({now_ + latency_, std::string(reinterpret_cast<const char*>(d), n)});
        return true;
      };
    };
    for (int i = 0; i < 1000 && client_.conn && client_.conn->write(now_, emit_to(server_)); ++i) {
    }
    for (int i = 0; i < 1000 && server_.conn && server_.conn->write(now_, emit_to(client_)); ++i) {
    }
  }

  void deliver(Side& to, bool to_server) {
    while (!to.inbox.empty() && to.inbox.front().at <= now_) {
      Datagram d = std::move(to.inbox.front());
      to.inbox.pop_front();
      const auto* data = reinterpret_cast<const uint8_t*>(d.bytes.data());
      if (to_server && !server_.conn) {
        ngtcp2_pkt_hd hd;
        if (ngtcp2_accept(&hd, data, d.bytes.size()) != 0) continue;
        ServerHooks hooks;
        hooks.cid_changed = [this](const ngtcp2_cid& cid, bool added) {
          const std::string key(reinterpret_cast<const char*>(cid.data), cid.datalen);
          if (added) {
            cids_.insert(key);
          } else {
            cids_.erase(key);
          }
        };
        auto s = QuicConnection::accept(hd, saddr_, caddr_, server_tls_, options_, hooks, now_);
        ASSERT_TRUE(s.ok()) << s.error();
        server_.conn = std::move(s).value();
      }
      to.conn->receive(to_server ? caddr_ : saddr_, data, d.bytes.size(), now_);
    }
  }

  // Runs the simulation until `done()` or `limit` of simulated time passed.
  bool run_until(const std::function<bool()>& done, Timestamp limit = 60'000 * kMs) {
    const Timestamp deadline = now_ + limit;
    for (int guard = 0; guard < 2'000'000; ++guard) {
      client_.drain();
      server_.drain();
      write_all();
      if (done()) return true;
      Timestamp next = kNever;
      for (Side* s : {&client_, &server_}) {
        if (!s->inbox.empty()) next = std::min(next, s->inbox.front().at);
        if (s->conn) next = std::min(next, s->conn->expiry());
      }
      if (next == kNever || next > deadline) return done();
      now_ = std::max(now_, next);
      deliver(server_, true);
      deliver(client_, false);
      for (Side* s : {&client_, &server_}) {
        if (s->conn && s->conn->expiry() <= now_) s->conn->handle_expiry(now_);
      }
    }
    return done();
  }

  bool handshake() {
    start();
    return run_until([&] {
      return (client_.handshake && server_.handshake && client_.conn->confirmed()) ||
             client_.ended || server_.ended;
    });
  }

  // With a 64 KiB stream window: a handshake, then `bytes` on a new client stream (FIN after them
  // when `fin`) into a server that reads nothing, for 2 s of simulated time. Returns the stream id
  // (-1 when the server did not see it opened).
  int64_t send_to_a_server_that_does_not_read(const std::string& bytes, bool fin) {
    options_.stream_window = 64 * 1024;
    options_.max_stream_window = 64 * 1024;
    if (!handshake()) return -1;
    const int64_t id = client_.conn->open_stream();
    client_.conn->stream_write(id, bytes);
    if (fin) client_.conn->stream_finish(id);
    run_until([] { return false; }, 2000 * kMs);
    int64_t seen = -1;
    for (const auto& e : server_.events) {
      if (e.type == QuicEvent::Type::stream_opened) seen = e.stream;
    }
    return seen == id ? id : -1;
  }

  bool echo_round_trip(size_t n, unsigned seed);

  // The server echoes every stream and ends its side when the client did.
  void serve_echo() {
    server_.on_event = [](QuicConnection& c, const QuicEvent& ev) {
      if (ev.type != QuicEvent::Type::stream_readable) return;
      std::string bytes = c.stream_read(ev.stream, SIZE_MAX);
      if (!bytes.empty()) c.stream_write(ev.stream, std::move(bytes));
      if (c.stream_at_eof(ev.stream)) c.stream_finish(ev.stream);
    };
  }

  Timestamp now_ = 1000 * kMs;
  Timestamp latency_ = 1 * kMs;
  int drop_next_ = 0;
  size_t largest_datagram_ = 0;
  SocketAddress caddr_, saddr_;
  ServerTlsConfig server_tls_config_;
  ClientTlsConfig client_tls_config_;
  QuicOptions options_;
  std::shared_ptr<TlsCredentials> server_tls_;
  Side client_, server_;
  std::set<std::string> cids_;
};

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

TEST_F(QuicPairTest, MutualTlsHandshakeGivesTheClientFingerprint) {
  ASSERT_TRUE(handshake());
  EXPECT_TRUE(client_.handshake);
  EXPECT_TRUE(server_.handshake);
  EXPECT_TRUE(client_.conn->confirmed());
  EXPECT_EQ(server_.conn->peer_id(), cert_fingerprint("client-a"));
  EXPECT_EQ(server_.conn->peer_id().rfind("SHA256:", 0), 0u);
  EXPECT_EQ(server_.conn->peer_id().size(), 7u + 64u);
  EXPECT_TRUE(client_.conn->usable());
  EXPECT_TRUE(server_.conn->usable());
  // The server registered the client's original DCID and its own CIDs.
  EXPECT_GE(cids_.size(), 2u);
}

TEST_F(QuicPairTest, StreamEchoWithHalfClose) {
  ASSERT_TRUE(handshake());
  serve_echo();
  const std::string sent = pattern(300 * 1024, 1);
  std::string got;
  bool eof = false;
  client_.on_event = [&](QuicConnection& c, const QuicEvent& ev) {
    if (ev.type != QuicEvent::Type::stream_readable) return;
    got += c.stream_read(ev.stream, SIZE_MAX);
    eof = c.stream_at_eof(ev.stream);
  };
  const int64_t id = client_.conn->open_stream();
  ASSERT_GE(id, 0);
  client_.conn->stream_write(id, sent.substr(0, 1000));
  client_.conn->stream_write(id, sent.substr(1000));
  client_.conn->stream_finish(id);
  EXPECT_EQ(client_.conn->stream_unacked(id), sent.size());
  ASSERT_TRUE(run_until([&] { return eof; }));
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  // Both directions done and acknowledged: the transport closes the stream on both sides.
  ASSERT_TRUE(run_until([&] {
    return client_.count(QuicEvent::Type::stream_closed) == 1 &&
           server_.count(QuicEvent::Type::stream_closed) == 1;
  }));
  EXPECT_EQ(client_.conn->stream_unacked(id), 0u);
  EXPECT_EQ(server_.count(QuicEvent::Type::stream_reset), 0u);
}

TEST_F(QuicPairTest, StreamCreditIsReplenishedAsStreamsClose) {
  options_.max_streams_bidi = 4;
  ASSERT_TRUE(handshake());
  std::map<int64_t, std::string> got;
  std::set<int64_t> done;
  server_.on_event = [](QuicConnection& c, const QuicEvent& ev) {
    if (ev.type == QuicEvent::Type::stream_readable) {
      std::string bytes = c.stream_read(ev.stream, SIZE_MAX);
      if (!bytes.empty()) c.stream_write(ev.stream, std::move(bytes));
      if (c.stream_at_eof(ev.stream)) c.stream_finish(ev.stream);
    } else if (ev.type == QuicEvent::Type::stream_closed) {
      c.release_stream(ev.stream);
    }
  };
  int opened = 0;
  auto open_more = [&](QuicConnection& c) {
    while (opened < 20 && c.streams_left() > 0) {
      const int64_t id = c.open_stream();
      ASSERT_GE(id, 0);
      c.stream_write(id, "stream " + std::to_string(opened));
      c.stream_finish(id);
      ++opened;
    }
  };
  client_.on_event = [&](QuicConnection& c, const QuicEvent& ev) {
    if (ev.type == QuicEvent::Type::stream_readable) {
      got[ev.stream] += c.stream_read(ev.stream, SIZE_MAX);
    } else if (ev.type == QuicEvent::Type::stream_closed) {
      done.insert(ev.stream);
      c.release_stream(ev.stream);
    } else if (ev.type == QuicEvent::Type::streams_available) {
      open_more(c);
    }
  };
  open_more(*client_.conn);
  EXPECT_EQ(opened, 4);  // the server's initial credit
  ASSERT_TRUE(run_until([&] { return done.size() == 20; }));
  EXPECT_EQ(opened, 20);
  int i = 0;
  for (const auto& [id, text] : got) EXPECT_EQ(text, "stream " + std::to_string(i++));
}

TEST_F(QuicPairTest, FlowControlStallsAnUnreadStreamAndResumesWhenRead) {
  const std::string sent = pattern(1 << 20, 2);
  // The server does not read: only one window's worth crosses.
  const int64_t id = send_to_a_server_that_does_not_read(sent, true);
  ASSERT_GE(id, 0);
  const int64_t sid = id;
  EXPECT_LE(server_.conn->stream_readable(sid), 64u * 1024);
  EXPECT_GE(server_.conn->stream_readable(sid), 32u * 1024);
  EXPECT_GE(client_.conn->stream_unacked(id), sent.size() - 64 * 1024);
  EXPECT_GT(client_.conn->stats().blocked_events, 0u);
  // The consumer reads: credit flows back and the rest arrives.
  std::string got;
  server_.on_event = [&](QuicConnection& c, const QuicEvent& ev) {
    if (ev.type == QuicEvent::Type::stream_readable) got += c.stream_read(ev.stream, SIZE_MAX);
  };
  got += server_.conn->stream_read(sid, SIZE_MAX);
  ASSERT_TRUE(run_until([&] { return server_.conn->stream_at_eof(sid); }));
  EXPECT_TRUE(got == sent);
  ASSERT_TRUE(run_until([&] { return client_.conn->stream_unacked(id) == 0; }));
}

TEST_F(QuicPairTest, ResetReachesThePeerWithItsCode) {
  ASSERT_TRUE(handshake());
  const int64_t id = client_.conn->open_stream();
  client_.conn->stream_write(id, "request");
  ASSERT_TRUE(run_until([&] { return server_.count(QuicEvent::Type::stream_readable) > 0; }));
  client_.conn->stream_reset(id, kStreamCancelled);
  ASSERT_TRUE(run_until([&] { return server_.count(QuicEvent::Type::stream_reset) > 0; }));
  for (const auto& e : server_.events) {
    if (e.type == QuicEvent::Type::stream_reset) EXPECT_EQ(e.code, kStreamCancelled);
  }
  server_.conn->stream_reset(id, kStreamCancelled);
  server_.conn->release_stream(id);
  client_.conn->release_stream(id);
  ASSERT_TRUE(run_until([&] { return client_.count(QuicEvent::Type::stream_closed) > 0; }));
  EXPECT_EQ(server_.conn->open_streams(), 0u);
  EXPECT_EQ(client_.conn->open_streams(), 0u);
}

TEST_F(QuicPairTest, IdleTimeoutEndsBothSides) {
  options_.idle_timeout_ms = 1000;
  ASSERT_TRUE(handshake());
  const Timestamp start = now_;
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }));
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::idle_timeout);
  EXPECT_EQ(server_.conn->close_info().cause, CloseInfo::Cause::idle_timeout);
  EXPECT_TRUE(client_.conn->close_info().retryable());
  EXPECT_GE(now_ - start, 1000 * kMs);
  EXPECT_LE(now_ - start, 4000 * kMs);
  EXPECT_EQ(client_.conn->state(), QuicConnection::State::closed);
}

// Timeouts are milliseconds, ngtcp2's nanoseconds: a huge value (JS's Number.MAX_SAFE_INTEGER,
// or one whose product wraps round to under a millisecond) must stay huge.
TEST_F(QuicPairTest, HugeTimeoutsDoNotWrapRoundToTinyOnes) {
  options_.idle_timeout_ms = 18'446'744'073'710;  // × 10^6 wraps to 0.45 ms
  options_.handshake_timeout_ms = 9'007'199'254'740'991;
  options_.keep_alive_ms = 18'446'744'073'710;
  ASSERT_TRUE(handshake());
  run_until([] { return false; }, 10000 * kMs);
  EXPECT_FALSE(client_.ended) << client_.conn->close_info().message;
  EXPECT_FALSE(server_.ended) << server_.conn->close_info().message;
}

TEST_F(QuicPairTest, KeepAliveHoldsAConnectionWithAnOpenStream) {
  options_.idle_timeout_ms = 1000;
  options_.keep_alive_ms = 300;
  ASSERT_TRUE(handshake());
  const int64_t id = client_.conn->open_stream();
  client_.conn->stream_write(id, "quiet call");
  run_until([] { return false; }, 5000 * kMs);
  EXPECT_FALSE(client_.ended);
  EXPECT_FALSE(server_.ended);
  // Once the stream is gone, the connection idles out.
  client_.conn->stream_reset(id, kStreamCancelled);
  client_.conn->release_stream(id);
  server_.on_event = [](QuicConnection& c, const QuicEvent& ev) {
    if (ev.type == QuicEvent::Type::stream_reset) c.release_stream(ev.stream);
  };
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }, 10000 * kMs));
}

TEST_F(QuicPairTest, ApplicationCloseReachesThePeer) {
  ASSERT_TRUE(handshake());
  server_.conn->close(kCloseNoError, "shutdown", now_);
  ASSERT_TRUE(run_until([&] { return client_.ended; }));
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::peer);
  EXPECT_NE(client_.conn->close_info().message.find("shutdown"), std::string::npos);
  EXPECT_TRUE(client_.conn->close_info().retryable());
  EXPECT_EQ(server_.conn->close_info().cause, CloseInfo::Cause::local);
  ASSERT_TRUE(run_until([&] {
    return client_.conn->state() == QuicConnection::State::closed &&
           server_.conn->state() == QuicConnection::State::closed;
  }));
}

TEST_F(QuicPairTest, ClientWithoutCertificateIsRefused) {
  client_tls_config_.cert_file.clear();
  client_tls_config_.key_file.clear();
  handshake();
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }));
  EXPECT_FALSE(server_.handshake);
  EXPECT_EQ(server_.conn->close_info().cause, CloseInfo::Cause::tls);
  EXPECT_EQ(server_.conn->close_info().tls_alert, 116);
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::tls_by_peer);
  EXPECT_NE(client_.conn->close_info().message.find("certificate_required"), std::string::npos)
      << client_.conn->close_info().message;
  EXPECT_FALSE(client_.conn->close_info().retryable());
}

TEST_F(QuicPairTest, ClientCertificateFromAnotherCaIsRefused) {
  client_tls_config_.cert_file = cert_path("other-client.crt");
  client_tls_config_.key_file = cert_path("other-client.key");
  handshake();
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }));
  EXPECT_FALSE(server_.handshake);
  EXPECT_EQ(server_.conn->close_info().cause, CloseInfo::Cause::tls);
  EXPECT_NE(server_.conn->close_info().message.find("client certificate rejected"),
            std::string::npos)
      << server_.conn->close_info().message;
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::tls_by_peer);
  EXPECT_NE(client_.conn->close_info().message.find("bad_certificate"), std::string::npos)
      << client_.conn->close_info().message;
}

TEST_F(QuicPairTest, WrongAlpnIsRefused) {
  client_tls_config_.alpn = "h3";
  handshake();
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }));
  EXPECT_EQ(server_.conn->close_info().tls_alert, 120);
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::tls_by_peer);
  EXPECT_NE(client_.conn->close_info().message.find("no_application_protocol"), std::string::npos)
      << client_.conn->close_info().message;
}

// GnuTLS lets a ClientHello without any ALPN extension through GNUTLS_ALPN_MANDATORY; the server's
// own check must refuse it.
TEST_F(QuicPairTest, ClientHelloWithoutAlpnIsRefused) {
  client_tls_config_.alpn.clear();
  handshake();
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }));
  EXPECT_FALSE(server_.handshake);
  EXPECT_EQ(server_.conn->close_info().cause, CloseInfo::Cause::tls);
  EXPECT_EQ(server_.conn->close_info().tls_alert, 120);
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::tls_by_peer);
  EXPECT_NE(client_.conn->close_info().message.find("no_application_protocol"), std::string::npos)
      << client_.conn->close_info().message;
  EXPECT_FALSE(client_.conn->close_info().retryable());
}

TEST_F(QuicPairTest, UntrustedServerCertificateIsRefusedByTheClient) {
  client_tls_config_.ca_file = cert_path("other-ca.crt");
  handshake();
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }));
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::tls);
  EXPECT_NE(client_.conn->close_info().message.find("server certificate"), std::string::npos)
      << client_.conn->close_info().message;
  EXPECT_EQ(server_.conn->close_info().cause, CloseInfo::Cause::tls_by_peer);
}

TEST_F(QuicPairTest, ServerNameMustMatchTheCertificate) {
  client_tls_config_.server_name = "other.example";
  handshake();
  ASSERT_TRUE(run_until([&] { return client_.ended && server_.ended; }));
  EXPECT_EQ(client_.conn->close_info().cause, CloseInfo::Cause::tls);
  EXPECT_NE(client_.conn->close_info().message.find("other.example"), std::string::npos)
      << client_.conn->close_info().message;
}

TEST_F(QuicPairTest, LossIsRecovered) {
  ASSERT_TRUE(handshake());
  serve_echo();
  std::string got;
  bool eof = false;
  client_.on_event = [&](QuicConnection& c, const QuicEvent& ev) {
    if (ev.type != QuicEvent::Type::stream_readable) return;
    got += c.stream_read(ev.stream, SIZE_MAX);
    eof = c.stream_at_eof(ev.stream);
  };
  const std::string sent = pattern(200 * 1024, 3);
  const int64_t id = client_.conn->open_stream();
  client_.conn->stream_write(id, sent);
  client_.conn->stream_finish(id);
  drop_next_ = 3;  // lose the first packets of the burst
  ASSERT_TRUE(run_until([&] { return eof; }));
  EXPECT_TRUE(got == sent);
}

// Handshake, then `n` bytes echoed on one stream; true when every byte came back.
bool QuicPairTest::echo_round_trip(size_t n, unsigned seed) {
  if (!handshake()) return false;
  serve_echo();
  std::string got;
  client_.on_event = [&](QuicConnection& c, const QuicEvent& ev) {
    if (ev.type == QuicEvent::Type::stream_readable) got += c.stream_read(ev.stream, SIZE_MAX);
  };
  const std::string sent = pattern(n, seed);
  const int64_t id = client_.conn->open_stream();
  client_.conn->stream_write(id, sent);
  client_.conn->stream_finish(id);
  const bool done = run_until([&] { return got.size() == sent.size(); });
  client_.on_event = nullptr;
  return done && got == sent;
}

TEST_F(QuicPairTest, LoopbackPeersUseLargeDatagramsOthersTheInternetSize) {
  options_.loopback_udp_payload = 16384;
  ASSERT_TRUE(echo_round_trip(512 * 1024, 4));
  EXPECT_GT(largest_datagram_, 1452u);
  EXPECT_LE(largest_datagram_, 16384u);
}

TEST_F(QuicPairTest, NonLoopbackPeersKeepTheDefaultDatagramSize) {
  caddr_ = SocketAddress::numeric("192.0.2.10", 40000).value();  // TEST-NET-1: not loopback
  saddr_ = SocketAddress::numeric("192.0.2.20", 4433).value();
  options_.loopback_udp_payload = 16384;
  ASSERT_TRUE(echo_round_trip(256 * 1024, 5));
  EXPECT_LE(largest_datagram_, 1452u);
}

TEST(SocketAddressTest, LoopbackIsRecognisedInEveryForm) {
  EXPECT_TRUE(SocketAddress::numeric("127.0.0.1", 1).value().is_loopback());
  EXPECT_TRUE(SocketAddress::numeric("127.255.0.9", 1).value().is_loopback());
  EXPECT_TRUE(SocketAddress::numeric("::1", 1).value().is_loopback());
  EXPECT_TRUE(SocketAddress::numeric("::ffff:127.0.0.1", 1).value().is_loopback());
  EXPECT_FALSE(SocketAddress::numeric("128.0.0.1", 1).value().is_loopback());
  EXPECT_FALSE(SocketAddress::numeric("10.0.0.1", 1).value().is_loopback());
  EXPECT_FALSE(SocketAddress::numeric("::ffff:10.0.0.1", 1).value().is_loopback());
  EXPECT_FALSE(SocketAddress::numeric("::2", 1).value().is_loopback());
}

TEST_F(QuicPairTest, PeekedBytesAreConsumedInPiecesAndCreditFollowsTheConsumer) {
  const std::string sent = pattern(1 << 20, 6);
  const int64_t sid = send_to_a_server_that_does_not_read(sent, true);
  ASSERT_GE(sid, 0);
  // Peeking takes nothing: the window stays full and the sender stays blocked.
  const size_t waiting = server_.conn->stream_peek(sid).size();
  ASSERT_GE(waiting, 32u * 1024);
  run_until([] { return false; }, 500 * kMs);
  EXPECT_EQ(server_.conn->stream_peek(sid).size(), waiting);
  // Consume in uneven pieces (a receiver that pauses part-way), each piece checked in place.
  std::string got;
  size_t piece = 1;
  ASSERT_TRUE(run_until([&] {
    for (std::string_view v = server_.conn->stream_peek(sid); !v.empty();
         v = server_.conn->stream_peek(sid)) {
      const size_t n = std::min(v.size(), piece);
      got.append(v.substr(0, n));
      server_.conn->stream_consume(sid, n);
      piece = piece * 3 + 7;
      if (piece > 100'000) piece = 1;
    }
    write_all();  // the credit goes out now, as a link's next turn would send it
    return server_.conn->stream_at_eof(sid);
  }));
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  // Consuming more than is there, or after the end, is harmless.
  server_.conn->stream_consume(sid, 1000);
  EXPECT_TRUE(server_.conn->stream_peek(sid).empty());
}

TEST_F(QuicPairTest, AResetStreamDropsItsBytesButAPeekedViewStaysReadable) {
  const std::string sent = pattern(256 * 1024, 7);
  const int64_t sid = send_to_a_server_that_does_not_read(sent, false);
  ASSERT_GE(sid, 0);
  const std::string_view view = server_.conn->stream_peek(sid);
  ASSERT_GE(view.size(), 1024u);
  // A receiver that resets the stream while it still holds the view (from inside on_bytes).
  server_.conn->stream_reset(sid, 5);
  EXPECT_EQ(view.substr(0, 1024), std::string_view(sent).substr(0, 1024));
  EXPECT_TRUE(server_.conn->stream_peek(sid).empty());
  EXPECT_EQ(server_.conn->stream_readable(sid), 0u);
  server_.conn->stream_consume(sid, view.size());  // the receiver's consume after on_bytes
  ASSERT_TRUE(run_until([&] { return client_.count(QuicEvent::Type::stream_reset) == 1; }));
}

// A bulk transfer empties a large receive buffer batch after batch: the connection keeps one as
// a spare instead of freeing it (malloc would trim and regrow its heap each time), the next
// stream to need the room takes it, and the spare goes when no stream is left open.
TEST_F(QuicPairTest, AnEmptiedLargeReceiveBufferIsKeptAsOneSpareUntilNoStreamIsOpen) {
  ASSERT_TRUE(handshake());
  const size_t bytes = 512 * 1024;  // under the 1 MiB stream window: all of it arrives unread
  auto receive_all = [&](int64_t id) {
    client_.conn->stream_write(id, pattern(bytes, static_cast<unsigned>(id)));
    return run_until([&] { return server_.conn->stream_readable(id) == bytes; });
  };
  auto consume_all = [&](int64_t id) {
    EXPECT_TRUE(server_.conn->stream_peek(id) ==
                std::string_view(pattern(bytes, static_cast<unsigned>(id))));
    server_.conn->stream_consume(id, bytes);
  };

  const int64_t first = client_.conn->open_stream();
  ASSERT_TRUE(receive_all(first));
  consume_all(first);
  const size_t spare = server_.conn->receive_buffer_capacity();
  EXPECT_GE(spare, bytes) << "the emptied buffer is kept";
  EXPECT_LE(spare, options_.stream_window);

  const int64_t second = client_.conn->open_stream();
  ASSERT_TRUE(receive_all(second));
  // The second stream grew into the spare: no second large buffer beside it.
  EXPECT_LT(server_.conn->receive_buffer_capacity(), spare + 64 * 1024);
  consume_all(second);
  EXPECT_LT(server_.conn->receive_buffer_capacity(), spare + 64 * 1024);

  server_.conn->release_stream(first);
  EXPECT_GE(server_.conn->receive_buffer_capacity(), bytes) << "a stream is still open";
  server_.conn->release_stream(second);
  EXPECT_LT(server_.conn->receive_buffer_capacity(), 1024u) << "no stream open: no spare";
}

}  // namespace
}  // namespace alk::transport::quic

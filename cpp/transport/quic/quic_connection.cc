#include "transport/quic/quic_connection.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace alk::transport::quic {

namespace {

constexpr size_t kMaxVec = 16;                // iovecs per writev_stream call
constexpr size_t kCoalesceLimit = 64u << 10;  // small writes are merged into chunks up to this
constexpr unsigned kMaxCloseResends = 16;
// A fully consumed receive buffer keeps up to this much capacity; a partly consumed one drops
// its consumed front once that is at least this large.
constexpr size_t kRxKeepCapacity = 128u << 10;
// A receive buffer about to grow beyond this takes the connection's spare, when it has the room.
constexpr size_t kRxSpareFrom = 16u << 10;
// Datagram size until the handshake is confirmed: QUIC's minimum, which ngtcp2 also starts with.
constexpr size_t kHandshakeUdpPayload = 1200;
// The largest UDP payload a packet may have: what fits the 64 KiB send buffer and one GSO send.
constexpr size_t kMaxUdpPayload = 65000;

// ngtcp2 counts time in nanoseconds (uint64): a timeout of the options' milliseconds, held at
// QuicOptions::kMaxTimeoutMs so that no value a caller may give wraps round to a tiny one.
ngtcp2_duration timeout_ns(uint64_t ms) {
  return std::min(ms, QuicOptions::kMaxTimeoutMs) * NGTCP2_MILLISECONDS;
}

void trace_printf(void*, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  // The analyzer misses va_start here (a false positive of clang-analyzer 14).
  std::vfprintf(stderr, fmt, ap);  // NOLINT(clang-analyzer-valist.Uninitialized)
  va_end(ap);
  std::fputc('\n', stderr);
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// ---- SocketAddress ----

bool SocketAddress::is_loopback() const {
  if (storage.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (storage.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

std::string SocketAddress::describe() const {
  char host[INET6_ADDRSTRLEN] = "?";
  if (storage.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    // Appended piecewise: `"[" + std::string(...)` trips GCC 12's -Wrestrict at -O3.
    std::string out = "[";
    out += host;
    out += "]:";
    out += std::to_string(ntohs(a->sin6_port));
    return out;
  }
  return "?";
}

SocketAddress SocketAddress::from(const sockaddr* addr) {
  SocketAddress out;
  if (!addr) return out;
  out.len = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&out.storage, addr, out.len);
  return out;
}

Result<SocketAddress, std::string> SocketAddress::numeric(const std::string& host, uint16_t port) {
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return out;
  }
  return unexpected("not a numeric IP address: " + host);
}

// ---- construction ----

QuicConnection::QuicConnection(bool server, const SocketAddress& local, const SocketAddress& remote,
                               std::shared_ptr<TlsCredentials> tls, const QuicOptions& options)
    : server_(server),
      local_(local),
      remote_(remote),
      tls_(std::move(tls)),
      options_(options),
      buf_(64u << 10) {
  anchor_.conn_ref.get_conn = &QuicConnection::get_conn;
  anchor_.conn_ref.user_data = this;
  anchor_.observer = this;
}

QuicConnection::~QuicConnection() {
  if (conn_) ngtcp2_conn_del(conn_);
  if (session_) gnutls_deinit(session_);
}

ngtcp2_conn* QuicConnection::get_conn(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<QuicConnection*>(ref->user_data)->conn_;
}

ngtcp2_callbacks QuicConnection::callbacks(bool server) {
  ngtcp2_callbacks cb{};
  if (server) {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb.extend_max_local_streams_bidi = &QuicConnection::on_extend_max_local_streams;
    cb.handshake_confirmed = &QuicConnection::on_handshake_confirmed;
    cb.recv_stateless_reset = &QuicConnection::on_stateless_reset;
  }
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = &QuicConnection::on_rand;
  cb.get_new_connection_id = &QuicConnection::on_get_new_cid;
  cb.remove_connection_id = &QuicConnection::on_remove_cid;
  cb.handshake_completed = &QuicConnection::on_handshake_completed;
  cb.recv_stream_data = &QuicConnection::on_recv_stream_data;
  cb.acked_stream_data_offset = &QuicConnection::on_acked;
  cb.stream_open = &QuicConnection::on_stream_open;
  cb.stream_close = &QuicConnection::on_stream_close;
  cb.stream_reset = &QuicConnection::on_stream_reset;
  cb.stream_stop_sending = &QuicConnection::on_stop_sending;
  cb.extend_max_stream_data = &QuicConnection::on_extend_max_stream_data;
  return cb;
}

ngtcp2_settings QuicConnection::settings(Timestamp now) const {
  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  // Idle and handshake timers count from initial_ts; 0 would expire them at once.
  s.initial_ts = now;
  s.cc_algo = NGTCP2_CC_ALGO_CUBIC;
  s.max_window = options_.max_connection_window;
  s.max_stream_window = options_.max_stream_window;
  if (options_.handshake_timeout_ms > 0) {
    s.handshake_timeout = timeout_ns(options_.handshake_timeout_ms);
  }
  if (options_.loopback_udp_payload > 0 && remote_.is_loopback()) {
    s.max_tx_udp_payload_size = std::min<size_t>(options_.loopback_udp_payload, kMaxUdpPayload);
    s.no_tx_udp_payload_size_shaping = 1;
  }
  if (options_.trace) s.log_printf = trace_printf;
  return s;
}

ngtcp2_transport_params QuicConnection::params() const {
  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  // The defaults allow the peer nothing: every window and stream limit is 0.
  p.initial_max_data = options_.connection_window;
  p.initial_max_stream_data_bidi_local = options_.stream_window;
  p.initial_max_stream_data_bidi_remote = options_.stream_window;
  p.initial_max_stream_data_uni = 0;
  p.initial_max_streams_bidi = server_ ? options_.max_streams_bidi : 0;
  p.initial_max_streams_uni = 0;
  p.max_idle_timeout = timeout_ns(options_.idle_timeout_ms);
  p.active_connection_id_limit = 7;
  // max_ack_delay stays ngtcp2's 25 ms: QuicLink's linger before letting go of the loop
  // (kUnrefLingerMs) is twice that.
  return p;
}

Result<bool, std::string> QuicConnection::init_tls(std::string_view host) {
  auto s = make_session(*tls_, &anchor_, host);
  if (!s) return unexpected(s.error());
  session_ = s.value();
  ngtcp2_conn_set_tls_native_handle(conn_, session_);
  return true;
}

Result<std::unique_ptr<QuicConnection>, std::string> QuicConnection::connect(
    const SocketAddress& local, const SocketAddress& remote, std::string_view host,
    std::shared_ptr<TlsCredentials> tls, const QuicOptions& options, Timestamp now) {
  std::unique_ptr<QuicConnection> c(
      new QuicConnection(false, local, remote, std::move(tls), options));
  ngtcp2_cid dcid{}, scid{};
  dcid.datalen = 18;
  scid.datalen = 16;
  gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
  gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
  ngtcp2_path path{{const_cast<sockaddr*>(c->local_.get()), c->local_.len},
                   {const_cast<sockaddr*>(c->remote_.get()), c->remote_.len},
                   nullptr};
  const ngtcp2_callbacks cb = callbacks(false);
  const ngtcp2_settings st = c->settings(now);
  const ngtcp2_transport_params pr = c->params();
  const int rv = ngtcp2_conn_client_new(&c->conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                        &st, &pr, nullptr, c.get());
  if (rv != 0) return unexpected(std::string("ngtcp2_conn_client_new: ") + ngtcp2_strerror(rv));
  auto ok = c->init_tls(host);
  if (!ok) return unexpected(ok.error());
  return c;
}

Result<std::unique_ptr<QuicConnection>, std::string> QuicConnection::accept(
    const ngtcp2_pkt_hd& hd, const SocketAddress& local, const SocketAddress& remote,
    std::shared_ptr<TlsCredentials> tls, const QuicOptions& options, ServerHooks hooks,
    Timestamp now) {
  std::unique_ptr<QuicConnection> c(
      new QuicConnection(true, local, remote, std::move(tls), options));
  c->hooks_ = std::move(hooks);
  ngtcp2_cid scid{};
  scid.datalen = kServerCidLength;
  gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
  ngtcp2_path path{{const_cast<sockaddr*>(c->local_.get()), c->local_.len},
                   {const_cast<sockaddr*>(c->remote_.get()), c->remote_.len},
                   nullptr};
  const ngtcp2_callbacks cb = callbacks(true);
  const ngtcp2_settings st = c->settings(now);
  ngtcp2_transport_params pr = c->params();
  pr.original_dcid = hd.dcid;
  pr.stateless_reset_token_present = 1;
  if (ngtcp2_crypto_generate_stateless_reset_token(pr.stateless_reset_token,
                                                   c->hooks_.reset_secret.data(),
                                                   c->hooks_.reset_secret.size(), &scid) != 0) {
    return unexpected(std::string("cannot derive a stateless reset token"));
  }
  const int rv = ngtcp2_conn_server_new(&c->conn_, &hd.scid, &scid, &path, hd.version, &cb, &st,
                                        &pr, nullptr, c.get());
  if (rv != 0) return unexpected(std::string("ngtcp2_conn_server_new: ") + ngtcp2_strerror(rv));
  auto ok = c->init_tls("");
  if (!ok) return unexpected(ok.error());
  // The client keeps using its original DCID until it learns ours from the server Initial.
  if (c->hooks_.cid_changed) {
    c->hooks_.cid_changed(hd.dcid, true);
    c->hooks_.cid_changed(scid, true);
  }
  return c;
}

// ---- I/O ----

void QuicConnection::receive(const SocketAddress& remote, const uint8_t* data, size_t len,
                             Timestamp now) {
  if (state_ == State::closed || state_ == State::draining) return;
  ++stats_.packets_received;
  stats_.bytes_received += len;
  if (state_ == State::closing) {
    // Answer stray packets with our CONNECTION_CLOSE again, a bounded number of times.
    if (close_resends_ < kMaxCloseResends) close_pending_send_ = true;
    return;
  }
  ngtcp2_path path{{const_cast<sockaddr*>(local_.get()), local_.len},
                   {const_cast<sockaddr*>(remote.get()), remote.len},
                   nullptr};
  ngtcp2_pkt_info pi{};
  const int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, data, len, now);
  if (rv != 0) {
    fail_read(rv, now);
    return;
  }
  update_keep_alive();
}

void QuicConnection::fail_read(int rv, Timestamp now) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  switch (rv) {
    case NGTCP2_ERR_DRAINING:  // the peer closed
      enter_draining(now);
      return;
    case NGTCP2_ERR_DROP_CONN:
      end(CloseInfo::Cause::protocol, "connection dropped");
      finish_closed();
      return;
    case NGTCP2_ERR_CRYPTO: {
      const uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
      std::string why = !cert_rejection_.empty()
                            ? cert_rejection_
                            : "TLS handshake failed: " + alert_name(alert) +
                                  (alert == 116 ? " (the client sent no certificate)" : "");
      end(CloseInfo::Cause::tls, std::move(why), NGTCP2_CRYPTO_ERROR | alert, alert);
      ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, nullptr, 0);
      break;
    }
    case NGTCP2_ERR_CALLBACK_FAILURE:
      if (!callback_error_.empty()) {
        // An ALPN or certificate policy failure found after the TLS handshake.
        end(CloseInfo::Cause::tls, callback_error_, NGTCP2_CRYPTO_ERROR | 120, 120);
        ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, 120, nullptr, 0);
        break;
      }
      [[fallthrough]];
    default:
      end(CloseInfo::Cause::protocol, std::string("QUIC error: ") + ngtcp2_strerror(rv));
      ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv, nullptr, 0);
      break;
  }
  start_closing(ccerr, now);
}

void QuicConnection::start_closing(const ngtcp2_connection_close_error& ccerr, Timestamp now) {
  // Written right away: callers are never inside an ngtcp2 callback.
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf_.data(),
                                                            buf_.size(), &ccerr, now);
  if (n <= 0) {
    finish_closed();
    return;
  }
  close_packet_.assign(reinterpret_cast<const char*>(buf_.data()), static_cast<size_t>(n));
  close_pending_send_ = true;
  state_ = State::closing;
  close_deadline_ = now + 3 * ngtcp2_conn_get_pto(conn_);
}

void QuicConnection::enter_draining(Timestamp now) {
  state_ = State::draining;
  close_deadline_ = now + 3 * ngtcp2_conn_get_pto(conn_);
  ngtcp2_connection_close_error e;
  ngtcp2_connection_close_error_default(&e);
  ngtcp2_conn_get_connection_close_error(conn_, &e);
  std::string reason(reinterpret_cast<const char*>(e.reason), e.reason ? e.reasonlen : 0);
  const char* who = server_ ? "the client" : "the server";
  if (stateless_reset_) {
    end(CloseInfo::Cause::peer,
        "the server reset the connection (stateless reset: it restarted, or lost the connection)");
    return;
  }
  if (e.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
      (e.error_code & ~uint64_t{0xff}) == NGTCP2_CRYPTO_ERROR) {
    const auto alert = static_cast<uint8_t>(e.error_code & 0xff);
    std::string why = std::string(who) + " refused the TLS handshake: " + alert_name(alert);
    if (!server_ && alert == 116) why += " (it requires a client certificate)";
    if (!server_ && (alert == 42 || alert == 48 || alert == 46)) {
      why += " (it does not accept our client certificate)";
    }
    if (alert == 120) why += " (no common ALPN; this transport speaks " + std::string(kAlpn) + ")";
    end(CloseInfo::Cause::tls_by_peer, std::move(why), e.error_code, alert);
    return;
  }
  std::string why = std::string("connection closed by ") + who;
  if (!reason.empty()) why += ": " + reason;
  if (e.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
    if (e.error_code != kCloseNoError) why += " (application error " + hex(e.error_code) + ")";
  } else if (e.error_code != NGTCP2_NO_ERROR) {
    why += " (transport error " + hex(e.error_code) + ")";
  }
  end(CloseInfo::Cause::peer, std::move(why), e.error_code);
}

const char* CloseInfo::cause_name() const {
  switch (cause) {
    case Cause::none:
      return "open";
    case Cause::local:
      return "local";
    case Cause::peer:
      return "peer";
    case Cause::idle_timeout:
      return "idle_timeout";
    case Cause::handshake_timeout:
      return "handshake_timeout";
    case Cause::tls:
      return "tls";
    case Cause::tls_by_peer:
      return "tls_by_peer";
    case Cause::protocol:
      return "protocol";
  }
  return "protocol";
}

void QuicConnection::end(CloseInfo::Cause cause, std::string message, uint64_t code,
                         uint8_t alert) {
  if (close_.cause != CloseInfo::Cause::none) return;
  close_.cause = cause;
  close_.message = std::move(message);
  close_.code = code;
  close_.tls_alert = alert;
  push({QuicEvent::Type::ended});
}

void QuicConnection::finish_closed() {
  if (close_.cause == CloseInfo::Cause::none) end(CloseInfo::Cause::local, "closed");
  state_ = State::closed;
  close_deadline_ = kNever;
}

bool QuicConnection::write(Timestamp now, const Emit& emit) {
  struct Adapter final : PacketWriter {
    Adapter(std::vector<uint8_t>& b, const Emit& f) : buf(b), fn(f) {}
    uint8_t* space(size_t) override { return buf.data(); }
    bool emit(const SocketAddress& to, size_t len) override { return fn(to, buf.data(), len); }
    std::vector<uint8_t>& buf;
    const Emit& fn;
  } adapter(buf_, emit);
  return write(now, adapter);
}

bool QuicConnection::write(Timestamp now, PacketWriter& out) {
  if (state_ == State::closed || state_ == State::draining) return false;
  if (state_ == State::closing) {
    if (close_pending_send_ && !close_packet_.empty()) {
      close_pending_send_ = false;
      ++close_resends_;
      std::memcpy(out.space(close_packet_.size()), close_packet_.data(), close_packet_.size());
      out.emit(remote_, close_packet_.size());
    }
    return false;
  }
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  // Until the handshake is confirmed (Initial and Handshake packets gone), datagrams keep QUIC's
  // minimum size even to a loopback peer: ngtcp2 pads every datagram that carries an Initial to
  // the size it is given, and 16 KiB flights took a handshake from 1.8 to 2.2–2.8 ms.
  const size_t maxpl =
      confirmed_ ? ngtcp2_conn_get_max_tx_udp_payload_size(conn_)
                 : std::min(ngtcp2_conn_get_max_tx_udp_payload_size(conn_), kHandshakeUdpPayload);
  const size_t max_pkts =
      std::clamp<size_t>(ngtcp2_conn_get_send_quantum(conn_) / std::max<size_t>(maxpl, 1), 1, 64);
  size_t npkts = 0;
  bool more = false;
  std::array<ngtcp2_vec, kMaxVec> vec{};
  for (;;) {
    // The next stream with something to send, round robin.
    Stream* s = nullptr;
    while (!ready_.empty()) {
      Stream* c = find(ready_.front());
      if (c && has_sendable(*c)) {
        s = c;
        break;
      }
      if (c) c->in_ready = false;
      ready_.pop_front();
    }
    const int64_t sid = s ? s->id : -1;
    size_t vcnt = 0;
    uint64_t total = 0;
    bool covers_all = true;
    if (s) {
      uint64_t off = s->tx_base;
      for (std::string& chunk : s->tx) {
        const uint64_t chunk_end = off + chunk.size();
        if (chunk_end > s->tx_sent) {
          if (vcnt == vec.size()) {
            covers_all = false;
            break;
          }
          const uint64_t skip = s->tx_sent > off ? s->tx_sent - off : 0;
          vec[vcnt].base = reinterpret_cast<uint8_t*>(chunk.data()) + skip;
          vec[vcnt].len = chunk.size() - skip;
          total += vec[vcnt].len;
          ++vcnt;
        }
        off = chunk_end;
      }
    }
    const bool want_fin = s && s->fin_requested && !s->fin_sent && covers_all;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (want_fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    ngtcp2_ssize ndatalen = -1;
    const ngtcp2_ssize n =
        ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, out.space(maxpl), maxpl, &ndatalen, flags,
                                  sid, vcnt ? vec.data() : nullptr, vcnt, now);
    // Look the stream up again: nothing may hold a pointer across an ngtcp2 call.
    s = sid >= 0 ? find(sid) : nullptr;
    auto account = [&] {
      if (!s || ndatalen < 0) return;
      s->tx_sent += static_cast<uint64_t>(ndatalen);
      if (want_fin && static_cast<uint64_t>(ndatalen) == total) s->fin_sent = true;
    };
    auto rotate = [&] {
      if (!s || ready_.empty() || ready_.front() != sid) return;
      ready_.pop_front();
      if (has_sendable(*s)) {
        ready_.push_back(sid);
      } else {
        s->in_ready = false;
      }
    };
    if (n < 0) {
      switch (n) {
        case NGTCP2_ERR_STREAM_DATA_BLOCKED:
          if (s) {
            s->blocked = true;
            ++stats_.blocked_events;
          }
          rotate();
          continue;
        case NGTCP2_ERR_STREAM_SHUT_WR:
        case NGTCP2_ERR_STREAM_NOT_FOUND:
          if (s) s->write_shut = true;
          rotate();
          continue;
        case NGTCP2_ERR_WRITE_MORE:
          account();
          rotate();
          continue;
        default: {
          end(CloseInfo::Cause::protocol,
              std::string("QUIC write error: ") + ngtcp2_strerror(static_cast<int>(n)));
          ngtcp2_connection_close_error ccerr;
          ngtcp2_connection_close_error_default(&ccerr);
          ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, static_cast<int>(n),
                                                                   nullptr, 0);
          start_closing(ccerr, now);
          return state_ == State::closing;
        }
      }
    }
    account();
    rotate();
    if (n == 0) break;  // nothing more now: idle, or congestion/flow/pacing limited
    ++stats_.packets_sent;
    stats_.bytes_sent += static_cast<uint64_t>(n);
    SocketAddress to = ps.path.remote.addrlen ? SocketAddress::from(ps.path.remote.addr) : remote_;
    if (!out.emit(to, static_cast<size_t>(n))) {
      more = true;
      break;
    }
    if (++npkts >= max_pkts) {
      more = true;
      break;
    }
  }
  // ngtcp2 0.12.1 paces from a 333 ms initial RTT until the first sample, which holds every
  // handshake flight back ~20 ms (fixed upstream in 0.14.0): only pace once an RTT sample exists.
  ngtcp2_conn_stat cst;
  ngtcp2_conn_get_conn_stat(conn_, &cst);
  if (cst.first_rtt_sample_ts != UINT64_MAX) ngtcp2_conn_update_pkt_tx_time(conn_, now);
  return more;
}

Timestamp QuicConnection::expiry() const {
  switch (state_) {
    case State::closed:
      return kNever;
    case State::closing:
    case State::draining:
      return close_deadline_;
    default:
      return ngtcp2_conn_get_expiry(conn_);
  }
}

void QuicConnection::handle_expiry(Timestamp now) {
  switch (state_) {
    case State::closed:
      return;
    case State::closing:
    case State::draining:
      if (now >= close_deadline_) finish_closed();
      return;
    default:
      break;
  }
  const int rv = ngtcp2_conn_handle_expiry(conn_, now);
  if (rv == 0) return;
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    end(CloseInfo::Cause::idle_timeout,
        "idle timeout (no packet for " + std::to_string(options_.idle_timeout_ms) + " ms)");
    finish_closed();
    return;
  }
  if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    end(CloseInfo::Cause::handshake_timeout, "the QUIC handshake did not finish within " +
                                                 std::to_string(options_.handshake_timeout_ms) +
                                                 " ms");
    finish_closed();
    return;
  }
  fail_read(rv, now);
}

void QuicConnection::close(uint64_t code, std::string_view reason, Timestamp now) {
  if (state_ != State::handshaking && state_ != State::open) return;
  end(CloseInfo::Cause::local,
      "closed locally" + (reason.empty() ? "" : ": " + std::string(reason)), code);
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  ngtcp2_connection_close_error_set_application_error(
      &ccerr, code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  start_closing(ccerr, now);
}

bool QuicConnection::next_event(QuicEvent& out) {
  if (events_.empty()) return false;
  out = events_.front();
  events_.pop_front();
  if (out.stream >= 0) {
    if (Stream* s = find(out.stream)) {
      switch (out.type) {
        case QuicEvent::Type::stream_readable:
          s->readable_queued = false;
          break;
        case QuicEvent::Type::stream_acked:
          s->acked_queued = false;
          break;
        case QuicEvent::Type::stream_closed:
          maybe_erase(out.stream);
          break;
        default:
          break;
      }
    }
  }
  return true;
}

void QuicConnection::push(QuicEvent ev) {
  events_.push_back(ev);
}

// ---- streams ----

QuicConnection::Stream* QuicConnection::find(int64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

QuicConnection::Stream& QuicConnection::ensure_peer_stream(int64_t id) {
  if (Stream* s = find(id)) return *s;
  auto s = std::make_unique<Stream>();
  s->id = id;
  s->peer_initiated = true;
  Stream& ref = *s;
  streams_.emplace(id, std::move(s));
  ++live_streams_;
  push({QuicEvent::Type::stream_opened, id});
  return ref;
}

int64_t QuicConnection::open_stream() {
  if (state_ != State::handshaking && state_ != State::open) return -1;
  int64_t id = -1;
  if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) return -1;
  auto s = std::make_unique<Stream>();
  s->id = id;
  streams_.emplace(id, std::move(s));
  ++live_streams_;
  update_keep_alive();
  return id;
}

uint64_t QuicConnection::streams_left() const {
  if (state_ != State::handshaking && state_ != State::open) return 0;
  return ngtcp2_conn_get_streams_bidi_left(conn_);
}

bool QuicConnection::has_sendable(const Stream& s) const {
  if (s.write_shut || s.blocked || s.transport_closed) return false;
  return s.tx_sent < s.tx_end || (s.fin_requested && !s.fin_sent);
}

void QuicConnection::mark_ready(Stream& s) {
  if (s.in_ready || !has_sendable(s)) return;
  s.in_ready = true;
  ready_.push_back(s.id);
}

QuicConnection::Stream* QuicConnection::writable_stream(int64_t id) {
  Stream* s = find(id);
  if (!s || s->fin_requested || s->write_shut || s->released) return nullptr;
  if (state_ != State::handshaking && state_ != State::open) return nullptr;
  return s;
}

std::string* QuicConnection::unsent_tail(Stream& s, size_t more) {
  if (s.tx.empty()) return nullptr;
  // ngtcp2 keeps pointers into every chunk it was handed: only a chunk none of whose bytes went
  // out yet may grow (and so reallocate).
  const uint64_t back_start = s.tx_end - s.tx.back().size();
  if (s.tx_sent > back_start || s.tx.back().size() + more > kCoalesceLimit) return nullptr;
  return &s.tx.back();
}

void QuicConnection::stream_write(int64_t id, std::string bytes) {
  Stream* s = writable_stream(id);
  if (!s || bytes.empty()) return;
  const uint64_t size = bytes.size();
  if (std::string* tail = unsent_tail(*s, bytes.size())) {
    *tail += bytes;
  } else {
    s->tx.push_back(std::move(bytes));
  }
  s->tx_end += size;
  mark_ready(*s);
}

void QuicConnection::stream_append(int64_t id, std::string_view bytes) {
  Stream* s = writable_stream(id);
  if (!s || bytes.empty()) return;
  if (std::string* tail = unsent_tail(*s, bytes.size())) {
    tail->append(bytes);
  } else {
    s->tx.emplace_back(bytes);
  }
  s->tx_end += bytes.size();
  mark_ready(*s);
}

void QuicConnection::stream_finish(int64_t id) {
  Stream* s = find(id);
  if (!s || s->fin_requested || s->write_shut || s->released) return;
  s->fin_requested = true;
  mark_ready(*s);
}

void QuicConnection::stream_reset(int64_t id, uint64_t code) {
  Stream* s = find(id);
  if (!s) return;
  const bool alive = state_ == State::handshaking || state_ == State::open;
  const size_t unread = s->rx.size() - s->rx_pos;
  // Dropped, not freed: the receiver may be reading a stream_peek() view as it resets.
  s->rx_pos = s->rx.size();
  // Bytes delivered to us but never read still count against the connection window.
  if (unread && alive) ngtcp2_conn_extend_max_offset(conn_, unread);
  const bool was_shut = s->read_shut && s->write_shut;
  s->read_shut = true;
  s->write_shut = true;
  if (!was_shut && !s->transport_closed && alive) ngtcp2_conn_shutdown_stream(conn_, id, code);
}

size_t QuicConnection::stream_unacked(int64_t id) const {
  const Stream* s = find(id);
  return s ? static_cast<size_t>(s->tx_end - s->tx_acked) : 0;
}

std::string QuicConnection::stream_read(int64_t id, size_t max) {
  const std::string_view avail = stream_peek(id);
  std::string out(avail.substr(0, max));
  stream_consume(id, out.size());
  return out;
}

std::string_view QuicConnection::stream_peek(int64_t id) const {
  const Stream* s = find(id);
  if (!s) return {};
  return std::string_view(s->rx).substr(s->rx_pos);
}

void QuicConnection::stream_consume(int64_t id, size_t n) {
  Stream* s = find(id);
  if (!s) return;
  n = std::min(n, s->rx.size() - s->rx_pos);
  if (n == 0) return;
  s->rx_pos += n;
  if (s->rx_pos == s->rx.size()) {
    s->rx.clear();
    s->rx_pos = 0;
    if (s->rx.capacity() > kRxKeepCapacity) {
      // Too large to sit on an idle stream, and too costly to free after every batch of a bulk
      // transfer (malloc trims and regrows its heap: a brk and fresh page faults per read). The
      // connection keeps the largest one up to the initial stream window as its spare.
      if (s->rx.capacity() <= options_.stream_window && s->rx.capacity() > spare_rx_.capacity()) {
        spare_rx_.swap(s->rx);
      }
      std::string().swap(s->rx);
    }
  } else if (s->rx_pos >= kRxKeepCapacity && s->rx_pos * 2 >= s->rx.size()) {
    // A consumer taking part of the bytes: drop the consumed front once it is the larger part,
    // so the move costs no more than what was consumed.
    s->rx.erase(0, s->rx_pos);
    s->rx_pos = 0;
  }
  if (state_ == State::handshaking || state_ == State::open) {
    // Flow-control credit goes back only now, as the consumer takes the bytes.
    if (!s->transport_closed && !s->read_shut) ngtcp2_conn_extend_max_stream_offset(conn_, id, n);
    ngtcp2_conn_extend_max_offset(conn_, n);
  }
}

size_t QuicConnection::receive_buffer_capacity() const {
  size_t n = spare_rx_.capacity();
  for (const auto& [id, s] : streams_) n += s->rx.capacity();
  return n;
}

size_t QuicConnection::stream_readable(int64_t id) const {
  const Stream* s = find(id);
  return s ? s->rx.size() - s->rx_pos : 0;
}

bool QuicConnection::stream_at_eof(int64_t id) const {
  const Stream* s = find(id);
  return s && s->rx_fin && s->rx.size() == s->rx_pos;
}

void QuicConnection::release_stream(int64_t id) {
  Stream* s = find(id);
  if (!s || s->released) return;
  const bool finished_both = s->fin_sent && s->rx_fin;
  if (!s->transport_closed && !finished_both) stream_reset(id, kStreamCancelled);
  s->released = true;
  --live_streams_;
  if (live_streams_ == 0) std::string().swap(spare_rx_);  // an idle connection keeps none
  update_keep_alive();
  maybe_erase(id);
}

void QuicConnection::maybe_erase(int64_t id) {
  Stream* s = find(id);
  if (!s || !s->released) return;
  const bool alive = state_ == State::handshaking || state_ == State::open;
  if (!s->transport_closed && alive) return;  // ngtcp2 may still read its buffers
  if (s->peer_initiated && server_ && alive) ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
  streams_.erase(id);
}

void QuicConnection::update_keep_alive() {
  const bool want = options_.keep_alive_ms > 0 && live_streams_ > 0 &&
                    (state_ == State::handshaking || state_ == State::open);
  if (want == keep_alive_on_ || !conn_) return;
  if (state_ != State::handshaking && state_ != State::open) return;
  keep_alive_on_ = want;
  ngtcp2_conn_set_keep_alive_timeout(conn_, want ? timeout_ns(options_.keep_alive_ms) : 0);
}

// ---- ngtcp2 callbacks: they only record state and queue events ----

int QuicConnection::on_handshake_completed(ngtcp2_conn*, void* user) {
  auto* c = static_cast<QuicConnection*>(user);
  c->peer_id_ = peer_fingerprint(c->session_);
  if (c->server_) {
    if (c->tls_->require_client_cert() && c->peer_id_.empty()) {
      c->callback_error_ = "the client sent no certificate";
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  } else {
    const std::string alpn = selected_alpn(c->session_);
    if (alpn != c->tls_->client_config().alpn) {
      c->callback_error_ = "the server selected ALPN \"" + alpn + "\", expected \"" +
                           c->tls_->client_config().alpn + "\"";
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  }
  c->state_ = State::open;
  // RFC 9001 §4.1.2: a server's handshake is confirmed as soon as it completes.
  if (c->server_) c->confirmed_ = true;
  c->push({QuicEvent::Type::handshake_completed});
  return 0;
}

int QuicConnection::on_handshake_confirmed(ngtcp2_conn*, void* user) {
  static_cast<QuicConnection*>(user)->confirmed_ = true;
  return 0;
}

int QuicConnection::on_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*,
                                       void* user) {
  static_cast<QuicConnection*>(user)->stateless_reset_ = true;
  return 0;
}

int QuicConnection::on_recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t,
                                        const uint8_t* data, size_t len, void* user, void*) {
  auto* c = static_cast<QuicConnection*>(user);
  Stream* s = c->find(id);
  if (!s) {
    if (ngtcp2_conn_is_local_stream(c->conn_, id)) return 0;  // released and forgotten
    s = &c->ensure_peer_stream(id);
  }
  if (s->read_shut) {
    ngtcp2_conn_extend_max_offset(c->conn_, len);  // nobody reads it: give the credit back
    return 0;
  }
  const size_t needed = s->rx.size() + len;
  if (needed > s->rx.capacity() && needed > kRxSpareFrom && c->spare_rx_.capacity() >= needed) {
    // Growing past a small buffer anyway: into the spare's room rather than a new allocation.
    c->spare_rx_.assign(s->rx);
    s->rx.swap(c->spare_rx_);
    c->spare_rx_.clear();
  }
  s->rx.append(reinterpret_cast<const char*>(data), len);
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) s->rx_fin = true;
  if (!s->readable_queued) {
    s->readable_queued = true;
    c->push({QuicEvent::Type::stream_readable, id});
  }
  return 0;
}

int QuicConnection::on_acked(ngtcp2_conn*, int64_t id, uint64_t offset, uint64_t len, void* user,
                             void*) {
  auto* c = static_cast<QuicConnection*>(user);
  Stream* s = c->find(id);
  if (!s) return 0;
  s->tx_acked = std::max(s->tx_acked, offset + len);
  while (!s->tx.empty() && s->tx_base + s->tx.front().size() <= s->tx_acked) {
    s->tx_base += s->tx.front().size();
    s->tx.pop_front();
  }
  if (!s->acked_queued && !s->released) {
    s->acked_queued = true;
    c->push({QuicEvent::Type::stream_acked, id});
  }
  return 0;
}

int QuicConnection::on_stream_open(ngtcp2_conn*, int64_t id, void* user) {
  static_cast<QuicConnection*>(user)->ensure_peer_stream(id);
  return 0;
}

int QuicConnection::on_stream_close(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t code,
                                    void* user, void*) {
  auto* c = static_cast<QuicConnection*>(user);
  Stream* s = c->find(id);
  if (!s) return 0;
  s->transport_closed = true;
  const uint64_t app = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) ? code : 0;
  c->push({QuicEvent::Type::stream_closed, id, app});
  return 0;
}

int QuicConnection::on_stream_reset(ngtcp2_conn*, int64_t id, uint64_t, uint64_t code, void* user,
                                    void*) {
  auto* c = static_cast<QuicConnection*>(user);
  Stream* s = c->find(id);
  if (!s) {
    if (ngtcp2_conn_is_local_stream(c->conn_, id)) return 0;
    s = &c->ensure_peer_stream(id);
  }
  if (s->released) return 0;
  c->push({QuicEvent::Type::stream_reset, id, code});
  return 0;
}

int QuicConnection::on_stop_sending(ngtcp2_conn*, int64_t id, uint64_t code, void* user, void*) {
  auto* c = static_cast<QuicConnection*>(user);
  Stream* s = c->find(id);
  if (!s) {
    if (ngtcp2_conn_is_local_stream(c->conn_, id)) return 0;
    s = &c->ensure_peer_stream(id);
  }
  s->write_shut = true;  // ngtcp2 answers with RESET_STREAM itself
  if (s->released) return 0;
  c->push({QuicEvent::Type::stream_reset, id, code});
  return 0;
}

int QuicConnection::on_extend_max_local_streams(ngtcp2_conn*, uint64_t, void* user) {
  static_cast<QuicConnection*>(user)->push({QuicEvent::Type::streams_available});
  return 0;
}

int QuicConnection::on_extend_max_stream_data(ngtcp2_conn*, int64_t id, uint64_t, void* user,
                                              void*) {
  auto* c = static_cast<QuicConnection*>(user);
  Stream* s = c->find(id);
  if (!s) return 0;
  s->blocked = false;
  c->mark_ready(*s);
  return 0;
}

int QuicConnection::on_get_new_cid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t len,
                                   void* user) {
  auto* c = static_cast<QuicConnection*>(user);
  gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, len);
  cid->datalen = len;
  if (c->server_) {
    if (ngtcp2_crypto_generate_stateless_reset_token(token, c->hooks_.reset_secret.data(),
                                                     c->hooks_.reset_secret.size(), cid) != 0) {
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    if (c->hooks_.cid_changed) c->hooks_.cid_changed(*cid, true);
  } else {
    gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN);
  }
  return 0;
}

int QuicConnection::on_remove_cid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
  auto* c = static_cast<QuicConnection*>(user);
  if (c->server_ && c->hooks_.cid_changed) c->hooks_.cid_changed(*cid, false);
  return 0;
}

void QuicConnection::on_rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) {
  gnutls_rnd(GNUTLS_RND_NONCE, dest, len);
}

}  // namespace alk::transport::quic

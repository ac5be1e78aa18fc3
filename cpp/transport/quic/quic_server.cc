#include "transport/quic/quic_server.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace alk::transport::quic {

namespace {

constexpr size_t kRecvBuffer = size_t{20} * 65536;  // recvmmsg: up to 20 datagrams per read
constexpr int kSocketBuffer = 4 << 20;

std::string cid_key(const uint8_t* data, size_t len) {
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace

QuicServer::QuicServer(uv_loop_t* loop, QuicServerConfig config, PeerStreamFactory factory)
    : loop_(loop), config_(std::move(config)), factory_(std::move(factory)) {
  derive_reset_secret();
}

// The stateless reset secret is derived from the server's private key, so a server restarted with
// the same key recognises the connections of its previous life and resets them at once (RFC 9000
// §10.3): open clients learn of the restart from their next packet, not from an idle timeout. The
// key never leaves the process and the derivation is one-way.
void QuicServer::derive_reset_secret() {
  auto& secret = hooks_template_.reset_secret;
  std::ifstream in(config_.tls.key_file, std::ios::binary);
  std::string material((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (material.empty()) {
    gnutls_rnd(GNUTLS_RND_KEY, secret.data(), secret.size());
    return;
  }
  material.insert(0, "alknet/call stateless reset v1\n");
  static_assert(sizeof(secret) == 32, "sha256 fills the secret");
  gnutls_hash_fast(GNUTLS_DIG_SHA256, material.data(), material.size(), secret.data());
  gnutls_memset(material.data(), 0, material.size());
}

QuicServer::~QuicServer() {
  *alive_ = false;
}

Result<bool, std::string> QuicServer::listen() {
  auto tls = TlsCredentials::for_server(config_.tls);
  if (!tls) return unexpected(tls.error());
  tls_ = tls.value();
  auto addr = SocketAddress::numeric(config_.host, config_.port);
  if (!addr) return unexpected("quic listen address: " + addr.error());
  udp_ = new uv_udp_t;
  const unsigned family = addr->storage.ss_family == AF_INET6 ? AF_INET6 : AF_INET;
  int rv = uv_udp_init_ex(loop_, udp_, family | UV_UDP_RECVMMSG);
  if (rv != 0) {
    // No socket (no IPv6 on this host, no file descriptor left): the handle was never
    // initialised, so there is nothing to close.
    delete udp_;
    udp_ = nullptr;
    return unexpected("cannot listen on quic://" + addr->describe() + ": " + uv_strerror(rv));
  }
  udp_->data = this;
  rv = uv_udp_bind(udp_, addr->get(), 0);
  if (rv == 0) {
    int size = kSocketBuffer;
    uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(udp_), &size);
    size = kSocketBuffer;
    uv_recv_buffer_size(reinterpret_cast<uv_handle_t*>(udp_), &size);
    int len = sizeof(local_.storage);
    rv = uv_udp_getsockname(udp_, local_.get(), &len);
    local_.len = static_cast<socklen_t>(len);
  }
  if (rv == 0) rv = uv_udp_recv_start(udp_, &QuicServer::on_alloc, &QuicServer::on_recv);
  if (rv != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(udp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
    udp_ = nullptr;
    return unexpected("cannot listen on quic://" + addr->describe() + ": " + uv_strerror(rv));
  }
  return true;
}

void QuicServer::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<QuicServer*>(h->data);
  if (self->recv_buf_.empty()) self->recv_buf_.resize(kRecvBuffer);
  *buf = uv_buf_init(self->recv_buf_.data(), static_cast<unsigned>(self->recv_buf_.size()));
}

void QuicServer::on_recv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                         unsigned flags) {
  // nread == 0 with no address is libuv saying "nothing more" (or releasing an mmsg buffer).
  if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL)) return;
  auto* self = static_cast<QuicServer*>(udp->data);
  self->dispatch(SocketAddress::from(addr), reinterpret_cast<const uint8_t*>(buf->base),
                 static_cast<size_t>(nread));
}

void QuicServer::dispatch(const SocketAddress& from, const uint8_t* data, size_t len) {
  ngtcp2_version_cid vc;
  const int rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, kServerCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    version_negotiation(from, vc);
    return;
  }
  if (rv != 0) return;
  auto it = by_cid_.find(cid_key(vc.dcid, vc.dcidlen));
  if (it != by_cid_.end()) {
    if (it->second->link) it->second->link->receive(from, data, len);
    return;
  }
  accept(from, data, len);
}

void QuicServer::accept(const SocketAddress& from, const uint8_t* data, size_t len) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, data, len) != 0) {
    // A 1-RTT packet for a connection we do not know: most likely one of a previous run.
    if (len > 0 && (data[0] & 0x80) == 0) stateless_reset(from, data, len);
    return;
  }
  if (closing_) {
    refuse(from, data, len);
    return;
  }
  auto e = std::make_unique<Entry>();
  Entry* ep = e.get();
  ep->address = from.describe();
  ep->started = std::chrono::steady_clock::now();
  ServerHooks hooks = hooks_template_;
  hooks.cid_changed = [this, ep](const ngtcp2_cid& cid, bool added) {
    const std::string key = cid_key(cid.data, cid.datalen);
    if (added) {
      by_cid_[key] = ep;
      ep->cids.insert(key);
    } else {
      auto found = by_cid_.find(key);
      if (found != by_cid_.end() && found->second == ep) by_cid_.erase(found);
      ep->cids.erase(key);
    }
  };
  auto conn = QuicConnection::accept(hd, local_, from, tls_, config_.quic, hooks, uv_hrtime());
  if (!conn) {
    for (const auto& key : ep->cids) by_cid_.erase(key);
    if (log_) log_({"refused", "", ep->address, "rejected", conn.error(), 0, 0});
    return;
  }
  ep->link =
      std::make_unique<QuicLink>(loop_, std::move(conn).value(), static_cast<LinkOwner&>(*this));
  QuicLink* link = ep->link.get();
  links_.emplace(link, std::move(e));
  link->receive(from, data, len);
}

void QuicServer::stateless_reset(const SocketAddress& from, const uint8_t* data, size_t len) {
  // RFC 9000 §10.3: smaller than the packet that triggered it (no reset loops between two
  // endpoints), and at least 41 bytes so it looks like any short-header packet.
  constexpr size_t kMinimum = 41;
  if (len <= kMinimum) return;
  const uint64_t now = uv_now(loop_);
  if (now != reset_window_ms_) {
    reset_window_ms_ = now;
    resets_in_window_ = 0;
  }
  if (++resets_in_window_ > kMaxResetsPerMs) return;  // bound what a flood can make us send
  ngtcp2_cid dcid;
  ngtcp2_cid_init(&dcid, data + 1, kServerCidLength);
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  if (ngtcp2_crypto_generate_stateless_reset_token(token, hooks_template_.reset_secret.data(),
                                                   hooks_template_.reset_secret.size(),
                                                   &dcid) != 0) {
    return;
  }
  const size_t out_len = std::min(len - 1, size_t{kMinimum + 16});
  uint8_t rand[64];
  const size_t rand_len = out_len - 1 - NGTCP2_STATELESS_RESET_TOKENLEN;
  gnutls_rnd(GNUTLS_RND_NONCE, rand, rand_len);
  uint8_t out[128];
  const ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(out, sizeof(out), token, rand, rand_len);
  if (n > 0) send_datagram(from, out, static_cast<size_t>(n));
}

void QuicServer::refuse(const SocketAddress& from, const uint8_t* data, size_t len) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, data, len) != 0) return;
  static constexpr char kReason[] = "server shutting down";
  uint8_t out[1500];
  const ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
      out, sizeof(out), hd.version, &hd.scid, &hd.dcid, NGTCP2_CONNECTION_REFUSED,
      reinterpret_cast<const uint8_t*>(kReason), sizeof(kReason) - 1);
  if (n > 0) send_datagram(from, out, static_cast<size_t>(n));
}

void QuicServer::version_negotiation(const SocketAddress& from, const ngtcp2_version_cid& vc) {
  if (closing_) return;
  uint8_t out[256];
  uint8_t unused = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
  const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  const ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      out, sizeof(out), unused, vc.scid, vc.scidlen, vc.dcid, vc.dcidlen, versions, 1);
  if (n > 0) send_datagram(from, out, static_cast<size_t>(n));
}

QuicServer::Entry* QuicServer::entry(QuicLink& link) {
  auto it = links_.find(&link);
  return it == links_.end() ? nullptr : it->second.get();
}

size_t QuicServer::calls() const {
  size_t n = 0;
  for (const auto& [link, e] : links_) n += link->stream_count();
  return n;
}

size_t QuicServer::queued_bytes() const {
  size_t n = 0;
  for (const auto& [link, e] : links_) n += link->queued_bytes();
  return n;
}

bool QuicServer::send_datagram(const SocketAddress& to, const uint8_t* data, size_t len) {
  if (!udp_ || socket_closing_) return true;
  return udp_send(udp_, to, data, len);
}

bool QuicServer::send_segments(const SocketAddress& to, const uint8_t* data, size_t len,
                               size_t segment) {
  if (!udp_ || socket_closing_) return true;
  return udp_send_segments(udp_, to, data, len, segment);
}

void QuicServer::on_link_handshake(QuicLink& link) {
  Entry* e = entry(link);
  if (!e) return;
  e->peer = link.conn().peer_id();
  e->opened = true;
  if (log_) log_({"open", e->peer, e->address, "", "", 0, 0});
}

void QuicServer::on_link_peer_stream(QuicLink& link, int64_t id) {
  Entry* e = entry(link);
  if (closing_ || !e || !e->opened) {
    link.refuse_stream(id);
    return;
  }
  // As the connection lines put them: addr=, and the certificate when the client sent one.
  std::string description = "quic addr=" + e->address;
  if (!e->peer.empty()) description += " cert=" + e->peer;
  QuicStream* s = link.add_stream(id, std::move(description));
  ++e->calls;
  s->adopt_receiver(factory_(*s, e->peer));
}

void QuicServer::on_link_stream_released(QuicLink& link) {
  if (closing_ && link.stream_count() == 0 && !link.ended()) {
    link.close(kCloseNoError, "server shutting down");
  }
}

void QuicServer::on_link_ended(QuicLink& link) {
  Entry* e = entry(link);
  if (!e || !log_) return;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - e->started)
          .count();
  const CloseInfo& why = link.conn().close_info();
  log_({e->opened ? "closed" : "refused", e->peer, e->address, why.cause_name(), why.message,
        e->calls, ms});
}

void QuicServer::on_link_released(QuicLink& link) {
  auto it = links_.find(&link);
  if (it == links_.end()) return;
  for (const auto& key : it->second->cids) {
    auto found = by_cid_.find(key);
    if (found != by_cid_.end() && found->second == it->second.get()) by_cid_.erase(found);
  }
  links_.erase(it);  // frees the link: its handles are closed and it is not used afterwards
  maybe_done();
}

void QuicServer::close(bool drop, std::function<void()> done) {
  if (closing_) return;
  closing_ = true;
  on_closed_ = std::move(done);
  std::vector<QuicLink*> links;
  for (const auto& [link, e] : links_) links.push_back(link);
  for (QuicLink* link : links) {
    if (!links_.count(link)) continue;
    if (link->ended()) {
      link->abandon();  // already closing or draining: no need to wait that out
    } else if (link->stream_count() == 0) {
      // Connections without calls close now; the others when their last call ends.
      link->close(kCloseNoError, "server shutting down");
    }
  }
  if (drop) drop_connections();
  maybe_done();
}

void QuicServer::drop_connections() {
  std::vector<QuicLink*> links;
  for (const auto& [link, e] : links_) links.push_back(link);
  for (QuicLink* link : links) {
    if (links_.count(link)) link->reset_streams();
  }
}

void QuicServer::maybe_done() {
  if (!closing_ || !links_.empty() || socket_closing_) return;
  socket_closing_ = true;
  if (!udp_) {
    if (on_closed_) on_closed_();
    return;
  }
  uv_udp_recv_stop(udp_);
  uv_close(reinterpret_cast<uv_handle_t*>(udp_), [](uv_handle_t* h) {
    auto* self = static_cast<QuicServer*>(h->data);
    delete reinterpret_cast<uv_udp_t*>(h);
    self->udp_ = nullptr;
    if (self->on_closed_) {
      auto done = std::move(self->on_closed_);
      self->on_closed_ = nullptr;
      done();
    }
  });
}

}  // namespace alk::transport::quic

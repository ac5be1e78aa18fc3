#include "transport/quic/quic_client.h"

#include <cstring>

namespace alk::transport::quic {

namespace {
constexpr int kSocketBuffer = 4 << 20;
// recvmmsg: libuv reads up to this many datagrams per system call (64 KiB of room each; only the
// pages datagrams land in become resident).
constexpr size_t kRecvDatagrams = 16;
constexpr size_t kRecvBuffer = kRecvDatagrams * 65536;
}  // namespace

std::shared_ptr<QuicClient> QuicClient::connect(uv_loop_t* loop, QuicClientConfig config) {
  auto* c = new QuicClient(loop, std::move(config));
  std::shared_ptr<QuicClient> shared(c, [](QuicClient* q) { q->dispose(); });
  c->start();
  return shared;
}

QuicClient::QuicClient(uv_loop_t* loop, QuicClientConfig config)
    : loop_(loop), config_(std::move(config)) {
  kick_ = new uv_timer_t;
  uv_timer_init(loop_, kick_);
  kick_->data = this;
  handles_open_ = 1;
}

QuicClient::~QuicClient() = default;

std::string QuicClient::describe() const {
  const bool v6 = config_.host.find(':') != std::string::npos;
  return "quic://" + (v6 ? "[" + config_.host + "]" : config_.host) + ":" +
         std::to_string(config_.port);
}

void QuicClient::start() {
  auto tls = TlsCredentials::for_client(config_.tls);
  if (!tls) {
    fail({tls.error(), false, false});
    return;
  }
  tls_ = tls.value();
  resolving_ = new uv_getaddrinfo_t;
  resolving_->data = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  const std::string port = std::to_string(config_.port);
  const int rv = uv_getaddrinfo(loop_, resolving_, &QuicClient::on_resolved, config_.host.c_str(),
                                port.c_str(), &hints);
  if (rv != 0) {
    delete resolving_;
    resolving_ = nullptr;
    fail({"cannot resolve " + config_.host + ": " + uv_strerror(rv), true, false});
  }
}

void QuicClient::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* self = static_cast<QuicClient*>(req->data);
  self->resolving_ = nullptr;
  delete req;
  if (self->disposed_ || self->failed_) {
    if (res) uv_freeaddrinfo(res);
    self->maybe_free();
    return;
  }
  if (status != 0 || !res) {
    self->fail({"cannot resolve " + self->config_.host + ": " + uv_strerror(status), true, false});
    if (res) uv_freeaddrinfo(res);
    return;
  }
  self->connect_to(res->ai_addr);
  uv_freeaddrinfo(res);
}

void QuicClient::connect_to(const sockaddr* addr) {
  const SocketAddress remote = SocketAddress::from(addr);
  const bool v6 = remote.storage.ss_family == AF_INET6;
  SocketAddress local = SocketAddress::numeric(v6 ? "::" : "0.0.0.0", 0).value();
  udp_ = new uv_udp_t;
  int rv = uv_udp_init_ex(loop_, udp_, (v6 ? AF_INET6 : AF_INET) | UV_UDP_RECVMMSG);
  if (rv != 0) {
    // No socket: the handle was never initialised, so it is freed here, not closed.
    delete udp_;
    udp_ = nullptr;
    fail({std::string("cannot open a UDP socket: ") + uv_strerror(rv), true, false});
    return;
  }
  udp_->data = this;
  ++handles_open_;
  rv = uv_udp_bind(udp_, local.get(), 0);
  // Connected: the kernel then reports an ICMP port unreachable from the server as ECONNREFUSED
  // on the socket (an unconnected one drops it), and takes datagrams from the server only.
  if (rv == 0) rv = uv_udp_connect(udp_, remote.get());
  if (rv == 0) {
    int len = sizeof(local.storage);
    rv = uv_udp_getsockname(udp_, local.get(), &len);
    local.len = static_cast<socklen_t>(len);
  }
  if (rv == 0) {
    int size = kSocketBuffer;
    uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(udp_), &size);
    size = kSocketBuffer;
    uv_recv_buffer_size(reinterpret_cast<uv_handle_t*>(udp_), &size);
    rv = uv_udp_recv_start(udp_, &QuicClient::on_alloc, &QuicClient::on_recv);
  }
  if (rv != 0) {
    fail({std::string("cannot open a UDP socket: ") + uv_strerror(rv), true, false});
    return;
  }
  auto conn = QuicConnection::connect(local, remote, config_.host, tls_, config_.quic, uv_hrtime());
  if (!conn) {
    fail({conn.error(), false, false});
    return;
  }
  link_ =
      std::make_unique<QuicLink>(loop_, std::move(conn).value(), static_cast<LinkOwner&>(*this));
  update_ref();
  link_->schedule();  // the first write sends the Initial
}

void QuicClient::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<QuicClient*>(h->data);
  if (!self->recv_buf_) self->recv_buf_ = std::make_unique_for_overwrite<char[]>(kRecvBuffer);
  *buf = uv_buf_init(self->recv_buf_.get(), static_cast<unsigned>(kRecvBuffer));
}

void QuicClient::on_recv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                         unsigned flags) {
  auto* self = static_cast<QuicClient*>(udp->data);
  if (nread == UV_ECONNREFUSED) {
    self->server_port_closed();
    return;
  }
  // Other errors (host or network unreachable: maybe a passing routing change) are left to QUIC's
  // loss recovery and idle timeout.
  if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL)) return;
  if (self->link_) {
    self->link_->receive(SocketAddress::from(addr), reinterpret_cast<const uint8_t*>(buf->base),
                         static_cast<size_t>(nread));
  }
}

uint64_t QuicClient::open_stream(OpenCallback done) {
  const uint64_t ticket = next_ticket_++;
  pending_.push_back({ticket, std::move(done)});
  update_ref();
  // Answered on a later turn: the caller is mid-call.
  uv_timer_start(kick_, &QuicClient::on_kick, 0, 0);
  return ticket;
}

void QuicClient::on_kick(uv_timer_t* t) {
  auto* self = static_cast<QuicClient*>(t->data);
  if (self->port_closed_) self->server_port_closed();
  if (self->disposed_) return;
  if (self->failed_) {
    self->flush_failures();
  } else {
    self->try_open();
  }
}

void QuicClient::cancel_open(uint64_t ticket) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->ticket == ticket) {
      pending_.erase(it);
      break;
    }
  }
  update_ref();
}

void QuicClient::try_open() {
  if (failed_ || disposed_ || !link_ || link_->ended()) return;
  while (!pending_.empty() && link_->conn().streams_left() > 0) {
    const int64_t id = link_->conn().open_stream();
    if (id < 0) break;
    QuicStream* s = link_->add_stream(id, describe());
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    p.done(s, nullptr);
    // The callback may have dropped the last reference (dispose) or much else.
    if (failed_ || disposed_ || !link_) return;
  }
  update_ref();
  link_->schedule();
}

void QuicClient::flush_failures() {
  std::deque<Pending> pending;
  pending.swap(pending_);
  const QuicFailure failure = failure_;
  for (Pending& p : pending) {
    if (disposed_) break;
    p.done(nullptr, &failure);
  }
  update_ref();
}

void QuicClient::fail(QuicFailure failure) {
  if (failed_) return;
  failed_ = true;
  failure_ = std::move(failure);
  if (!pending_.empty() && kick_) uv_timer_start(kick_, &QuicClient::on_kick, 0, 0);
  if (link_ && !link_->ended()) link_->shutdown_now("client failed");
  if (!link_ && udp_) {
    close_handle(udp_);
    udp_ = nullptr;
  }
}

void QuicClient::update_ref() {
  const bool active = !pending_.empty() || (link_ && link_->stream_count() > 0);
  if (link_) link_->set_referenced(active);
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(udp_), reinterpret_cast<uv_handle_t*>(kick_)}) {
    if (!h || uv_is_closing(h)) continue;
    if (active) {
      uv_ref(h);
    } else {
      uv_unref(h);
    }
  }
}

void QuicClient::server_port_closed() {
  port_closed_ = false;
  if (failed_ || disposed_ || !link_) return;
  CloseInfo why;
  // Like a stateless reset, word from the server's side that the connection is gone; retryable.
  why.cause = CloseInfo::Cause::peer;
  why.message = established_ ? "the server is gone (ICMP port unreachable: nothing listens on its "
                               "port any more; it stopped, or is restarting)"
                             : "no server listens there (ICMP port unreachable)";
  link_->fail_now(std::move(why));  // on_link_ended, then on_link_released
}

// The socket is connected: datagrams go to the server without an address (the link's `to` is
// always the server's; this client never migrates).
bool QuicClient::send_datagram(const SocketAddress&, const uint8_t* data, size_t len) {
  return udp_ ? sent(udp_send_to(udp_, nullptr, data, len)) : true;
}

bool QuicClient::send_segments(const SocketAddress&, const uint8_t* data, size_t len,
                               size_t segment) {
  return udp_ ? sent(udp_send_segments_to(udp_, nullptr, data, len, segment)) : true;
}

bool QuicClient::sent(UdpSendResult result) {
  if (result == UdpSendResult::refused && !port_closed_ && !failed_ && !disposed_ && kick_) {
    // The link is writing: it ends on the next turn, before it writes again.
    port_closed_ = true;
    uv_timer_start(kick_, &QuicClient::on_kick, 0, 0);
  }
  return result == UdpSendResult::sent;
}

void QuicClient::on_link_handshake(QuicLink&) {
  established_ = true;
  try_open();
}

void QuicClient::on_link_peer_stream(QuicLink& link, int64_t id) {
  link.refuse_stream(id);
}

void QuicClient::on_link_streams_available(QuicLink&) {
  try_open();
}

void QuicClient::on_link_stream_released(QuicLink&) {
  update_ref();
}

void QuicClient::on_link_ended(QuicLink& link) {
  const CloseInfo& info = link.close_info();
  fail({"QUIC connection to " + describe() + ": " + info.message, info.retryable(),
        info.certificate_refused()});
}

void QuicClient::on_link_released(QuicLink&) {
  link_.reset();  // called from the link's last close callback; it is not touched afterwards
  if (udp_) {
    close_handle(udp_);
    udp_ = nullptr;
  }
  maybe_free();
}

void QuicClient::dispose() {
  disposed_ = true;
  pending_.clear();  // their owners are gone
  if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(resolving_));
  if (link_) {
    link_->shutdown_now("client closed");  // on_link_released follows
  } else if (udp_) {
    close_handle(udp_);
    udp_ = nullptr;
  }
  if (kick_) {
    close_handle(kick_);
    kick_ = nullptr;
  }
  maybe_free();
}

template <typename Handle>
void QuicClient::close_handle(Handle* handle) {
  // Freed only in its close callback; the client goes once its last handle is gone.
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) {
    auto* self = static_cast<QuicClient*>(h->data);
    delete reinterpret_cast<Handle*>(h);
    --self->handles_open_;
    self->maybe_free();
  });
}

void QuicClient::maybe_free() {
  if (!disposed_ || handles_open_ != 0 || resolving_ || link_) return;
  std::function<void()> freed = std::move(on_freed_);
  delete this;
  if (freed) freed();
}

}  // namespace alk::transport::quic

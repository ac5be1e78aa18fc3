#include "transport/quic/quic_link.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace alk::transport::quic {

namespace {

// set_referenced(false) waits this long: twice ngtcp2's default max_ack_delay.
constexpr uint64_t kUnrefLingerMs = 50;

// The packets of one write, gathered for one GSO send: same destination, all of the first one's
// size but the last. Filled and emptied within QuicLink::flush(), so one per thread is enough.
// Linux caps a GSO send at 64 segments and one UDP datagram's worth of bytes.
constexpr size_t kMaxSegments = 64;
constexpr size_t kMaxBatchBytes = 65000;
// Room after the batch for the packet being written (no QUIC packet is larger).
constexpr size_t kMaxPacket = 64u << 10;

struct Batch {
  std::vector<uint8_t> bytes;  // kMaxBatchBytes + kMaxPacket, allocated on first use
  size_t used = 0;             // bytes of the packets in the batch
  SocketAddress to;
  size_t segment = 0;
  size_t count = 0;
  bool closed = false;  // a shorter packet ended it
};
thread_local Batch t_batch;

std::atomic<bool> g_gso_refused{false};

bool same_address(const SocketAddress& a, const SocketAddress& b) {
  return a.len == b.len && std::memcmp(a.get(), b.get(), a.len) == 0;
}

}  // namespace

bool LinkOwner::send_segments(const SocketAddress& to, const uint8_t* data, size_t len,
                              size_t segment) {
  bool ok = true;
  for (size_t off = 0; off < len; off += segment) {
    ok = send_datagram(to, data + off, std::min(segment, len - off)) && ok;
  }
  return ok;
}

UdpSendResult udp_send_segments_to(uv_udp_t* udp, const SocketAddress* to, const uint8_t* data,
                                   size_t len, size_t segment) {
  auto one_by_one = [&] {
    UdpSendResult result = UdpSendResult::sent;
    for (size_t off = 0; off < len; off += segment) {
      const UdpSendResult r = udp_send_to(udp, to, data + off, std::min(segment, len - off));
      if (r == UdpSendResult::refused || result == UdpSendResult::sent) result = r;
      if (r == UdpSendResult::refused) break;  // the rest would go nowhere
    }
    return result;
  };
  uv_os_fd_t fd = -1;
  if (len <= segment || g_gso_refused.load(std::memory_order_relaxed) ||
      uv_udp_get_send_queue_count(udp) > 0 ||
      uv_fileno(reinterpret_cast<const uv_handle_t*>(udp), &fd) != 0) {
    return one_by_one();
  }
  iovec iov{const_cast<uint8_t*>(data), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr msg{};
  // A connected socket takes no destination (sendmsg fails with EISCONN if given one).
  msg.msg_name = to ? const_cast<sockaddr*>(to->get()) : nullptr;
  msg.msg_namelen = to ? to->len : 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const auto seg = static_cast<uint16_t>(segment);
  std::memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return UdpSendResult::sent;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return one_by_one();
  if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
    // No GSO here (an old kernel, a device without checksum offload): never again.
    g_gso_refused.store(true, std::memory_order_relaxed);
    return one_by_one();
  }
  if (errno == ECONNREFUSED && !to) return UdpSendResult::refused;
  return UdpSendResult::sent;  // unreachable peer and the like: QUIC recovers or times out
}

UdpSendResult udp_send_to(uv_udp_t* udp, const SocketAddress* to, const uint8_t* data, size_t len) {
  uv_buf_t buf =
      uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(data)), static_cast<unsigned>(len));
  const sockaddr* addr = to ? to->get() : nullptr;
  const int rv = uv_udp_try_send(udp, &buf, 1, addr);
  if (rv >= 0) return UdpSendResult::sent;
  // A connected socket reports the ICMP port unreachable an earlier datagram met; an unconnected
  // one never does.
  if (rv == UV_ECONNREFUSED && !to) return UdpSendResult::refused;
  if (rv != UV_EAGAIN) return UdpSendResult::sent;  // QUIC recovers or times out
  // The kernel buffer, or libuv's own queue, is full: queue a copy and stop for this turn.
  struct Send {
    uv_udp_send_t req;
    std::string bytes;
  };
  auto* s = new Send{{}, std::string(reinterpret_cast<const char*>(data), len)};
  uv_buf_t copy = uv_buf_init(s->bytes.data(), static_cast<unsigned>(s->bytes.size()));
  s->req.data = s;
  if (uv_udp_send(&s->req, udp, &copy, 1, addr,
                  [](uv_udp_send_t* req, int) { delete static_cast<Send*>(req->data); }) != 0) {
    delete s;
  }
  return UdpSendResult::backed_up;
}

QuicLink::QuicLink(uv_loop_t* loop, std::unique_ptr<QuicConnection> conn, LinkOwner& owner)
    : loop_(loop), conn_(std::move(conn)), owner_(owner) {
  uv_timer_init(loop_, &timer_);
  uv_idle_init(loop_, &idle_);
  timer_.data = this;
  idle_.data = this;
}

QuicLink::~QuicLink() = default;

QuicStream* QuicLink::stream(int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void QuicLink::receive(const SocketAddress& from, const uint8_t* data, size_t len) {
  if (handles_closing_) return;
  conn_->receive(from, data, len, uv_hrtime());
  after_io();
}

void QuicLink::after_io() {
  process_events();
  sweep();
  schedule();
  check_finished();
}

void QuicLink::schedule() {
  if (idle_active_ || handles_closing_) return;
  idle_active_ = true;
  uv_idle_start(&idle_, &QuicLink::on_idle);
}

void QuicLink::schedule_delivery(int64_t id) {
  // A stream not (or no longer) known has nothing to deliver: add_stream queues a new one.
  QuicStream* s = stream(id);
  if (s && s->mark_delivery_queued()) deliveries_.push_back(id);
  schedule();
}

QuicStream* QuicLink::add_stream(int64_t id, std::string peer_description) {
  auto s = std::make_unique<QuicStream>(*this, id, std::move(peer_description));
  QuicStream* raw = s.get();
  streams_[id] = std::move(s);
  // Data may already be waiting (it arrived with the stream's first frame).
  schedule_delivery(id);
  return raw;
}

void QuicLink::refuse_stream(int64_t id) {
  conn_->stream_reset(id, kStreamRefused);
  conn_->release_stream(id);
  schedule();
}

size_t QuicLink::queued_bytes() const {
  size_t n = 0;
  for (const auto& [id, s] : streams_) n += s->queued_bytes();
  return n;
}

void QuicLink::reset_streams() {
  for (auto& [id, s] : streams_) s->reset();
}

void QuicLink::close(uint64_t code, const std::string& reason) {
  if (handles_closing_) return;
  conn_->close(code, reason, uv_hrtime());
  after_io();
}

void QuicLink::abandon() {
  if (handles_closing_) return;
  process_events();
  sweep();
  close_handles();
}

void QuicLink::fail_now(CloseInfo why) {
  // What the connection already queued goes first; if that ended it, its own reason stands.
  process_events();
  sweep();
  if (handles_closing_ || ended_) return;
  failed_ = true;
  failure_ = std::move(why);
  close_handles();  // tells the streams and the owner, with failure_ as close_info()
}

void QuicLink::shutdown_now(const std::string& reason) {
  if (handles_closing_) return;
  conn_->close(kCloseNoError, reason, uv_hrtime());
  flush();  // the CONNECTION_CLOSE goes out now
  process_events();
  sweep();
  close_handles();
}

void QuicLink::set_referenced(bool referenced) {
  if (handles_closing_) return;
  auto* t = reinterpret_cast<uv_handle_t*>(&timer_);
  auto* i = reinterpret_cast<uv_handle_t*>(&idle_);
  if (referenced) {
    unref_pending_ = false;
    uv_ref(t);
    uv_ref(i);
    return;
  }
  if (unref_pending_ || uv_has_ref(t) == 0) return;
  // ngtcp2 holds an ACK back up to max_ack_delay (25 ms by default). A client whose last call
  // just ended (its stream closed on the server's FIN, an ACK still owed for it) keeps the loop
  // that long and as much again, then lets go.
  unref_pending_ = true;
  uv_update_time(loop_);
  unref_at_ms_ = uv_now(loop_) + kUnrefLingerMs;
  if (!idle_active_) arm_timer();
}

void QuicLink::unref_if_due() {
  // Never while the idle handle has work queued: it must still hold the loop for the write
  // (libuv 1.45 on, Node's, runs timers last in a turn and then checks what holds the loop).
  if (!unref_pending_ || handles_closing_ || idle_active_ || uv_now(loop_) < unref_at_ms_) return;
  unref_pending_ = false;
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&idle_));
}

void QuicLink::process_events() {
  if (in_dispatch_) return;  // a re-entrant call (an owner callback closing the link): outer loop
  in_dispatch_ = true;
  QuicEvent ev;
  while (!handles_closing_ && conn_->next_event(ev)) {
    switch (ev.type) {
      case QuicEvent::Type::handshake_completed:
        owner_.on_link_handshake(*this);
        break;
      case QuicEvent::Type::stream_opened:
        owner_.on_link_peer_stream(*this, ev.stream);
        break;
      case QuicEvent::Type::stream_readable:
        // Delivered from the idle phase, once every datagram of this read is in: a receiver
        // gets the batch at once (stdin reaches docker in one write, not one per packet).
        schedule_delivery(ev.stream);
        break;
      case QuicEvent::Type::stream_reset:
        deliver_pending();  // bytes that came before the reset are delivered before it
        if (QuicStream* s = stream(ev.stream)) s->on_peer_reset(ev.code);
        break;
      case QuicEvent::Type::stream_acked:
        if (QuicStream* s = stream(ev.stream)) s->on_acked();
        break;
      case QuicEvent::Type::stream_closed:
        deliver_pending();  // a close with an error code resets the stream: same order
        if (QuicStream* s = stream(ev.stream)) s->on_transport_closed(ev.code);
        break;
      case QuicEvent::Type::streams_available:
        owner_.on_link_streams_available(*this);
        break;
      case QuicEvent::Type::ended:
        deliver_pending();  // and those that came before the connection ended, before that
        handle_ended();
        break;
    }
  }
  in_dispatch_ = false;
}

void QuicLink::handle_ended() {
  if (ended_) return;
  ended_ = true;
  const CloseInfo& info = close_info();
  // Receivers may do anything from on_reset, even shut this link down: look each stream up again.
  std::vector<int64_t> ids;
  for (auto& [id, s] : streams_) ids.push_back(id);
  for (int64_t id : ids) {
    if (QuicStream* s = stream(id)) s->on_connection_ended(info);
  }
  owner_.on_link_ended(*this);
}

void QuicLink::deliver_pending() {
  if (delivering_) return;  // re-entered from a receiver: the outer call goes on
  delivering_ = true;
  // As inside process_events: a receiver that shuts the link down from here must not have its
  // stream swept (freed) under it, and nested event dispatch waits for this to return.
  const bool outer_dispatch = in_dispatch_;
  in_dispatch_ = true;
  std::vector<int64_t> ids;
  ids.swap(deliveries_);
  for (int64_t id : ids) {
    if (QuicStream* s = stream(id)) s->on_readable();
  }
  in_dispatch_ = outer_dispatch;
  delivering_ = false;
}

void QuicLink::sweep() {
  if (in_dispatch_) return;
  // Take the finished streams out first: a receiver's on_closed may run anything, even code that
  // shuts this link down, and must not find them (or pull them from under us).
  std::vector<std::unique_ptr<QuicStream>> done;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->second->releasable()) {
      conn_->release_stream(it->first);
      done.push_back(std::move(it->second));
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
  if (done.empty()) return;
  for (auto& s : done) s->release();
  done.clear();
  if (handles_closing_) return;
  owner_.on_link_stream_released(*this);
  schedule();  // RESET_STREAM / MAX_STREAMS frames
}

bool QuicLink::flush() {
  const bool more = conn_->write(uv_hrtime(), *this);
  return !send_batch() || more;
}

uint8_t* QuicLink::space(size_t max) {
  Batch& b = t_batch;
  if (b.bytes.size() < b.used + max)
    b.bytes.resize(std::max(kMaxBatchBytes + kMaxPacket, b.used + max));
  return b.bytes.data() + b.used;
}

// ngtcp2 considers a packet sent once written: it is always kept, and goes out with its batch at
// the end of flush(). False when an earlier batch found the socket backed up (stop this turn).
bool QuicLink::emit(const SocketAddress& to, size_t len) {
  Batch& b = t_batch;
  bool ok = true;
  if (b.count > 0 && (b.closed || len > b.segment || b.count == kMaxSegments ||
                      b.used + len > kMaxBatchBytes || !same_address(b.to, to))) {
    // The packet starts the next batch: send the others, then move it to the front.
    const size_t at = b.used;
    ok = send_batch();
    std::memmove(b.bytes.data(), b.bytes.data() + at, len);
  }
  if (b.count == 0) {
    b.to = to;
    b.segment = len;
  }
  b.used += len;
  ++b.count;
  b.closed = len < b.segment;
  return ok;
}

bool QuicLink::send_batch() {
  Batch& b = t_batch;
  if (b.count == 0) return true;
  const bool ok = b.count == 1 ? owner_.send_datagram(b.to, b.bytes.data(), b.used)
                               : owner_.send_segments(b.to, b.bytes.data(), b.used, b.segment);
  b.used = 0;
  b.count = 0;
  b.closed = false;
  return ok;
}

void QuicLink::arm_timer() {
  if (handles_closing_) return;
  const Timestamp expiry = conn_->expiry();
  uv_update_time(loop_);
  const uint64_t linger_ms =
      unref_pending_ ? unref_at_ms_ - std::min(unref_at_ms_, uv_now(loop_)) : UINT64_MAX;
  if (expiry == kNever && !unref_pending_) {
    uv_timer_stop(&timer_);
    return;
  }
  const Timestamp now = uv_hrtime();
  uint64_t ms = UINT64_MAX;
  if (expiry != kNever) ms = expiry <= now ? 0 : (expiry - now + 999'999) / 1'000'000;
  uv_timer_start(&timer_, &QuicLink::on_timer, std::min(ms, linger_ms), 0);
}

void QuicLink::on_timer(uv_timer_t* t) {
  auto* self = static_cast<QuicLink*>(t->data);
  // Also woken at the end of the linger (set_referenced): handling an expiry early does nothing.
  // after_io() queues a write on the idle handle, which lets go of the loop once it ran.
  self->conn_->handle_expiry(uv_hrtime());
  self->after_io();
  if (!self->handles_closing_ && !self->idle_active_) self->arm_timer();
}

void QuicLink::on_idle(uv_idle_t* h) {
  auto* self = static_cast<QuicLink*>(h->data);
  self->process_events();
  self->deliver_pending();
  self->process_events();
  self->sweep();
  if (self->handles_closing_) return;
  const bool more = self->flush();
  self->process_events();
  self->sweep();
  if (self->handles_closing_) return;
  if (!more && self->deliveries_.empty()) {
    uv_idle_stop(&self->idle_);
    self->idle_active_ = false;
    self->unref_if_due();
  }
  self->arm_timer();
  self->check_finished();
}

void QuicLink::check_finished() {
  if (handles_closing_ || conn_->state() != QuicConnection::State::closed) return;
  process_events();  // the `ended` event, if not dispatched yet
  sweep();
  close_handles();
}

void QuicLink::close_handles() {
  if (handles_closing_) return;
  // Bytes already received reach their receivers before the end does (fail_now, abandon).
  deliver_pending();
  if (handles_closing_) return;
  handles_closing_ = true;
  // Any stream still here is told and released now: nothing will drive it any more.
  handle_ended();
  // They are freed with the handles: one of them may be on the stack right now.
  for (auto& [id, s] : streams_) graveyard_.push_back(std::move(s));
  streams_.clear();
  for (size_t i = 0; i < graveyard_.size(); ++i) {
    QuicStream* s = graveyard_[i].get();
    s->on_connection_ended(close_info());
    s->release();
  }
  auto done = [](uv_handle_t* h) {
    auto* self = static_cast<QuicLink*>(h->data);
    if (--self->handles_open_ > 0) return;
    self->graveyard_.clear();
    self->owner_.on_link_released(*self);
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), done);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), done);
}

}  // namespace alk::transport::quic

#include "docker/connection.h"

#include <netdb.h>

#include <cstring>

#include "docker/tls_socket.h"

namespace alk::docker::detail {

namespace {

std::string uv_message(int rc) {
  std::string m = uv_err_name(rc);
  m += " (";
  m += uv_strerror(rc);
  m += ')';
  return m;
}

Error make_error(Error::Kind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

// The read buffers, one set per thread (one loop per thread) for all its connections: what a read
// brings is handed to the owner, which consumes or copies it before the callback returns, so no
// connection needs 64 KiB of its own — a log follow receiving a line now and then would keep them
// resident. `which`: 0 for socket reads, 1 for decrypted TLS bytes. Not zero-filled.
char* shared_read_buffer(int which) {
  thread_local std::unique_ptr<char[]> buffers[2];
  std::unique_ptr<char[]>& b = buffers[which];
  if (!b) b.reset(new char[Connection::kReadBufferSize]);
  return b.get();
}

}  // namespace

struct Connection::WriteReq {
  uv_write_t req{};
  Connection* conn = nullptr;
  std::vector<std::string> bytes;  // owned until the write completes
  std::vector<uv_buf_t> bufs;
};

Connection::Connection(uv_loop_t* loop, const Endpoint& ep, ConnectionRegistry* registry)
    : loop_(loop), registry_(registry), peer_(ep.describe()), port_(ep.port) {}

Connection::~Connection() = default;

Connection* Connection::open(uv_loop_t* loop, const Endpoint& ep, const TlsSetup* tls,
                             uint64_t connect_timeout_ms, Owner* owner,
                             ConnectionRegistry* registry) {
  auto* c = new Connection(loop, ep, registry);
  c->owner_ = owner;
  uv_timer_init(loop, &c->timer_);
  c->timer_.data = c;
  c->handles_open_ = 1;
  int rc = 0;
  if (ep.kind == Endpoint::Kind::unix_socket) {
    rc = uv_pipe_init(loop, &c->sock_.pipe, 0);
  } else {
    rc = uv_tcp_init(loop, &c->sock_.tcp);
  }
  if (rc < 0) {
    // Without a socket handle only the timer needs closing; report on the next loop turn.
    c->fail_soon(make_error(Error::Kind::unavailable, "cannot create a socket: " + uv_message(rc)));
    return c;
  }
  c->handle()->data = c;
  c->handles_open_ = 2;
  if (connect_timeout_ms > 0) {
    c->arm_timeout(connect_timeout_ms, "cannot connect to " + c->peer_ + ": no connection within " +
                                           std::to_string(connect_timeout_ms) + " ms");
  }
  c->start_connect(ep, tls);
  return c;
}

void Connection::start_connect(const Endpoint& ep, const TlsSetup* tls) {
  if (ep.kind == Endpoint::Kind::unix_socket) {
    uv_pipe_connect(&connect_req_, &sock_.pipe, ep.path.c_str(), &Connection::on_connect);
    return;
  }
  if (ep.tls) {
    if (tls == nullptr || !tls->context) {
      fail_soon(make_error(Error::Kind::tls, tls != nullptr ? tls->error : "TLS not configured"));
      return;
    }
    auto session = TlsSession::create(tls->context, ep.host);
    if (!session) {
      fail_soon(make_error(Error::Kind::tls, session.error()));
      return;
    }
    tls_ = std::move(session.value());
  }
  sockaddr_storage addr{};
  if (uv_ip4_addr(ep.host.c_str(), ep.port, reinterpret_cast<sockaddr_in*>(&addr)) == 0 ||
      uv_ip6_addr(ep.host.c_str(), ep.port, reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    connect_tcp(reinterpret_cast<const sockaddr*>(&addr));
    return;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  resolve_req_.data = this;
  const int rc = uv_getaddrinfo(loop_, &resolve_req_, &Connection::on_resolved, ep.host.c_str(),
                                std::to_string(ep.port).c_str(), &hints);
  if (rc < 0) {
    fail_soon(
        make_error(Error::Kind::unavailable, "cannot resolve " + ep.host + ": " + uv_message(rc)));
    return;
  }
  resolving_ = true;
}

void Connection::on_resolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res) {
  auto* c = static_cast<Connection*>(req->data);
  c->resolving_ = false;
  if (c->closing_) {
    uv_freeaddrinfo(res);
    finalize_if_done(c);  // the handles may have closed while the lookup ran
    return;
  }
  if (status < 0 || res == nullptr) {
    uv_freeaddrinfo(res);
    c->fail(make_error(Error::Kind::unavailable, "cannot resolve the daemon's host (" + c->peer_ +
                                                     "): " + uv_message(status)));
    return;
  }
  c->connect_tcp(res->ai_addr);
  uv_freeaddrinfo(res);
}

void Connection::connect_tcp(const struct sockaddr* addr) {
  const int rc = uv_tcp_connect(&connect_req_, &sock_.tcp, addr, &Connection::on_connect);
  if (rc < 0) {
    fail_soon(
        make_error(Error::Kind::unavailable, "cannot connect to " + peer_ + ": " + uv_message(rc)));
  }
}

void Connection::on_connect(uv_connect_t* req, int status) {
  auto* c = static_cast<Connection*>(req->handle->data);
  if (status == UV_ECANCELED || c->closing_) return;
  if (status < 0) {
    c->fail(make_error(Error::Kind::unavailable,
                       "cannot connect to " + c->peer_ + ": " + uv_message(status)));
    return;
  }
  c->on_socket_connected();
}

void Connection::on_socket_connected() {
  socket_connected_ = true;
  if (handle()->type == UV_TCP) {
    uv_tcp_nodelay(&sock_.tcp, 1);
    // Long silent streams have no idle timeout; keepalive notices a vanished peer instead.
    uv_tcp_keepalive(&sock_.tcp, 1, 30);
  }
  // Reading starts now even on TLS: the handshake needs the daemon's bytes.
  if (const int rc = uv_read_start(stream(), &Connection::on_alloc, &Connection::on_read_cb);
      rc < 0) {
    fail(make_error(Error::Kind::unavailable, "cannot read from " + peer_ + ": " + uv_message(rc)));
    return;
  }
  reading_ = true;
  if (tls_) {
    handshake_step();
  } else {
    became_connected();
  }
}

void Connection::handshake_step() {
  std::string error;
  const TlsSession::Step step = tls_->handshake(&error);
  if (tls_->has_output()) enqueue(tls_->take_output());
  if (step == TlsSession::Step::failed) {
    fail(make_error(Error::Kind::tls, "TLS with " + peer_ + ": " + error));
  } else if (step == TlsSession::Step::done) {
    became_connected();
  }
}

void Connection::became_connected() {
  connected_ = true;
  disarm_timeout();
  if (!want_read_) read_stop();
  if (owner_ != nullptr) owner_->on_connected(*this);
}

void Connection::on_alloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) {
  *buf = uv_buf_init(shared_read_buffer(0), static_cast<unsigned>(kReadBufferSize));
}

void Connection::on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(s->data);
  if (nread == 0 || c->closing_) return;  // 0 is EAGAIN, not EOF
  if (nread > 0) {
    c->on_bytes(buf->base, static_cast<size_t>(nread));
    c->maybe_hold_reads(static_cast<size_t>(nread));
    return;
  }
  if (nread == UV_EOF) {
    if (c->tls_ && !c->connected_) {
      c->fail(make_error(Error::Kind::tls, "TLS with " + c->peer_ +
                                               ": the daemon closed the connection during the "
                                               "handshake (client certificate refused?)"));
    } else {
      c->end_with_eof();
    }
    return;
  }
  c->fail(make_error(Error::Kind::unavailable, "connection to " + c->peer_ + " broken: " +
                                                   uv_message(static_cast<int>(nread))));
}

void Connection::on_bytes(const char* data, size_t len) {
  if (!tls_) {
    if (owner_ != nullptr) owner_->on_read(*this, std::string_view(data, len));
    return;
  }
  tls_->feed(std::string_view(data, len));
  if (!connected_) {
    handshake_step();
    if (closing_ || !connected_) return;
  }
  // Every record of this read is decrypted and delivered, even if the owner stops reading
  // midway: the owner buffers what it cannot take yet (at most one read's worth).
  char* plain = shared_read_buffer(1);
  for (;;) {
    std::string error;
    const ptrdiff_t n = tls_->read(plain, kReadBufferSize, &error);
    if (tls_->has_output()) enqueue(tls_->take_output());
    if (n == 0) return;
    if (n == -1) {
      end_with_eof();
      return;
    }
    if (n < 0) {
      fail(make_error(Error::Kind::tls, "TLS with " + peer_ + ": " + error));
      return;
    }
    if (owner_ != nullptr) owner_->on_read(*this, std::string_view(plain, n));
    if (closing_) return;
  }
}

void Connection::set_role(Role role) {
  role_ = role;
  if (closing_ || handles_open_ < 2) return;
  if (role == Role::idle) {
    uv_unref(handle());
  } else {
    uv_ref(handle());
  }
}

void Connection::write(std::string bytes) {
  if (closing_ || shutdown_requested_ || write_failed_ || bytes.empty()) return;
  if (tls_) {
    std::string error;
    if (!tls_->write(bytes, &error)) {
      fail_soon(make_error(Error::Kind::tls, "TLS with " + peer_ + ": " + error));
      return;
    }
    enqueue(tls_->take_output());
    return;
  }
  enqueue(std::move(bytes));
}

void Connection::append(std::string_view bytes) {
  if (closing_ || shutdown_requested_ || write_failed_ || bytes.empty()) return;
  if (!tls_ && !write_in_flight_ && queue_.empty() && socket_connected_) {
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
    const int n = uv_try_write(stream(), &buf, 1);
    // An error other than EAGAIN is left to the queued write below, which reports it as usual.
    if (n > 0) bytes.remove_prefix(static_cast<size_t>(n));
    if (bytes.empty()) return;
  }
  write(std::string(bytes));
}

void Connection::enqueue(std::string bytes) {
  if (bytes.empty() || closing_ || write_failed_) return;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  flush();
}

void Connection::flush() {
  if (write_in_flight_ || queue_.empty() || closing_ || !socket_connected_) return;
  auto* w = new WriteReq();
  w->conn = this;
  w->req.data = w;
  w->bytes.swap(queue_);
  w->bufs.reserve(w->bytes.size());
  for (std::string& b : w->bytes) {
    w->bufs.push_back(uv_buf_init(b.data(), static_cast<unsigned>(b.size())));
  }
  inflight_bytes_ = queued_bytes_;
  queued_bytes_ = 0;
  write_in_flight_ = true;
  const int rc = uv_write(&w->req, stream(), w->bufs.data(), static_cast<unsigned>(w->bufs.size()),
                          &Connection::on_write);
  if (rc < 0) {
    delete w;
    write_in_flight_ = false;
    inflight_bytes_ = 0;
    fail_soon(
        make_error(Error::Kind::unavailable, "cannot write to " + peer_ + ": " + uv_message(rc)));
  }
}

void Connection::on_write(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  Connection* c = w->conn;
  delete w;
  // On close, libuv cancels pending writes before the close callbacks: `c` is still alive.
  c->write_in_flight_ = false;
  c->inflight_bytes_ = 0;
  if (status == UV_ECANCELED || c->closing_) return;
  if (status < 0) {
    // The daemon stopped reading (the container's stdin closed, or the socket broke). What it
    // already sent may still be unread, so the read side decides how the connection ends.
    c->write_failed_ = true;
    c->queue_.clear();
    c->queued_bytes_ = 0;
    return;
  }
  if (!c->queue_.empty()) {
    c->flush();
    return;
  }
  c->maybe_shutdown();
  if (c->owner_ != nullptr && !c->closing_) c->owner_->on_drain(*c);
}

void Connection::shutdown_write() {
  if (closing_ || shutdown_requested_) return;
  shutdown_requested_ = true;
  maybe_shutdown();
}

void Connection::maybe_shutdown() {
  if (!shutdown_requested_ || shutdown_started_ || closing_ || write_in_flight_ ||
      !queue_.empty() || !socket_connected_) {
    return;
  }
  if (tls_ && !bye_sent_ && !write_failed_) {
    // close_notify goes out first; its write completion brings us back here.
    bye_sent_ = true;
    tls_->close_write();
    if (tls_->has_output()) {
      std::string out = tls_->take_output();
      queued_bytes_ += out.size();
      queue_.push_back(std::move(out));
      flush();
      return;
    }
  }
  shutdown_started_ = true;
  // An error (ENOTCONN: the daemon already went away) leaves the read side to report it.
  uv_shutdown(&shutdown_req_, stream(), &Connection::on_shutdown);
}

void Connection::on_shutdown(uv_shutdown_t* /*req*/, int /*status*/) {}

void Connection::maybe_hold_reads(size_t nread) {
  if (!batching_ || closing_ || !reading_ || has_pending_error_) return;
  const uint64_t now = uv_hrtime();
  const bool quick = nread < kBatchBelow && now - last_read_ns_ < kBurstNs;
  last_read_ns_ = now;
  quick_reads_ = quick ? quick_reads_ + 1 : 0;
  // Two in a row: one alone may be a write split in two (a header, then its line).
  if (quick_reads_ < 2) return;
  quick_reads_ = 0;
  uv_read_stop(stream());
  reading_ = false;
  holding_ = true;
  ++batched_pauses_;
  uv_update_time(timer_.loop);
  uv_timer_start(&timer_, &Connection::on_timer, kBatchDelayMs, 0);
}

void Connection::release_hold() {
  if (!holding_) return;
  holding_ = false;
  uv_timer_stop(&timer_);
  if (want_read_) read_start();
}

void Connection::read_stop() {
  want_read_ = false;
  if (!reading_ || closing_) return;
  // During the TLS handshake the connection reads for itself; became_connected() stops it.
  if (tls_ && !connected_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void Connection::read_start() {
  want_read_ = true;
  if (reading_ || holding_ || closing_ || !socket_connected_) return;
  if (const int rc = uv_read_start(stream(), &Connection::on_alloc, &Connection::on_read_cb);
      rc < 0) {
    fail_soon(
        make_error(Error::Kind::unavailable, "cannot read from " + peer_ + ": " + uv_message(rc)));
    return;
  }
  reading_ = true;
}

void Connection::arm_timeout(uint64_t ms, std::string message) {
  if (closing_ || has_pending_error_) return;
  release_hold();  // the timer is about to serve the deadline
  if (ms == 0) {
    disarm_timeout();
    return;
  }
  timeout_error_ = make_error(Error::Kind::timeout, std::move(message));
  // Timers count from the loop's cached time, which is stale after a long synchronous stretch of
  // the embedder (JavaScript): without this a request made after one would time out at once.
  uv_update_time(timer_.loop);
  uv_timer_start(&timer_, &Connection::on_timer, ms, 0);
}

void Connection::disarm_timeout() {
  if (closing_ || has_pending_error_ || holding_) return;
  uv_timer_stop(&timer_);
}

void Connection::fail_soon(Error error) {
  if (closing_ || has_pending_error_) return;
  holding_ = false;
  has_pending_error_ = true;
  timeout_error_ = std::move(error);
  uv_timer_start(&timer_, &Connection::on_timer, 0, 0);
}

void Connection::on_timer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c->holding_) {
    c->release_hold();
    return;
  }
  c->fail(std::move(c->timeout_error_));
}

void Connection::end_with_eof() {
  if (closing_) return;
  Owner* o = owner_;
  close();
  if (o != nullptr) o->on_eof(*this);
}

void Connection::fail(Error error) {
  if (closing_) return;
  Owner* o = owner_;
  close();
  if (o != nullptr) o->on_failure(*this, std::move(error));
}

void Connection::close() {
  if (closing_) return;
  closing_ = true;
  owner_ = nullptr;
  reading_ = false;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_close);
  if (handles_open_ == 2) uv_close(handle(), &Connection::on_close);
  if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_req_));
}

void Connection::on_close(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  --c->handles_open_;
  finalize_if_done(c);
}

void Connection::finalize_if_done(Connection* c) {
  if (c->handles_open_ > 0 || c->resolving_) return;
  c->registry_->connection_gone(c);
  delete c;  // called only from libuv callbacks: no frame of the connection is on the stack
}

}  // namespace alk::docker::detail

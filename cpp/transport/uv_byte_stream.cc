#include "transport/uv_byte_stream.h"

#include <poll.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

namespace alk::transport {

namespace {

// Spare write buffers of this thread's streams. A stream holds buffers only while it has bytes
// to write, so a thousand idle streams (quiet log follows) hold none, and a busy one refills warm
// memory instead of growing a fresh buffer — page faults and all — for every burst. At most
// kMaxSpares buffers of at most kMaxCapacity are kept.
class SpareBuffers {
 public:
  static void take(std::string& s) {
    std::vector<std::string>& spares = list();
    if (s.capacity() > kSmall || spares.empty()) return;
    s.swap(spares.back());
    spares.pop_back();
  }
  static void give(std::string& s) {
    if (s.capacity() <= kSmall) return;
    std::vector<std::string>& spares = list();
    if (spares.size() < kMaxSpares && s.capacity() <= kMaxCapacity) {
      s.clear();
      spares.push_back(std::move(s));
    }
    std::string().swap(s);
  }

 private:
  static constexpr size_t kSmall = 4096;
  static constexpr size_t kMaxSpares = 2;
  static constexpr size_t kMaxCapacity = size_t{2} << 20;
  static std::vector<std::string>& list() {
    thread_local std::vector<std::string> spares;
    return spares;
  }
};

}  // namespace

UvByteStream::UvByteStream(uv_pipe_t* pipe, std::string peer_description)
    : pipe_(pipe), peer_(std::move(peer_description)) {
  pipe_->data = this;
}

UvByteStream::~UvByteStream() {
  SpareBuffers::give(pending_);
  SpareBuffers::give(in_flight_);
}

void UvByteStream::adopt_receiver(std::unique_ptr<StreamReceiver> receiver) {
  receiver_ = receiver.get();
  owned_receiver_ = std::move(receiver);
}

void UvByteStream::start() {
  resume_reading();
}

void UvByteStream::write(std::string bytes) {
  if (closing_ || fin_requested_ || bytes.empty()) return;
  if (pending_.empty() && bytes.size() > pending_.capacity()) {
    pending_ = std::move(bytes);
  } else {
    pending_ += bytes;
  }
  if (queued_bytes() > kHighWater) congested_ = true;
  if (!writing_) flush();
}

void UvByteStream::append(std::string_view bytes) {
  append(bytes, {});
}

void UvByteStream::append(std::string_view head, std::string_view body) {
  if (closing_ || fin_requested_ || head.size() + body.size() == 0) return;
  if (pending_.empty()) SpareBuffers::take(pending_);
  pending_.append(head).append(body);
  if (queued_bytes() > kHighWater) congested_ = true;
  if (!writing_) flush();
}

void UvByteStream::flush() {
  if (pending_.empty() || closing_) return;
  in_flight_.swap(pending_);
  pending_.clear();
  uv_buf_t buf = uv_buf_init(in_flight_.data(), static_cast<unsigned>(in_flight_.size()));
  write_req_.data = this;
  writing_ = true;
  if (uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(pipe_), &buf, 1,
               &UvByteStream::on_write) != 0) {
    writing_ = false;
    in_flight_.clear();
    // Reported from the close path, never from inside write(): the caller is mid-call.
    close_now();
  }
}

void UvByteStream::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<UvByteStream*>(req->data);
  self->writing_ = false;
  self->in_flight_.clear();
  if (self->closing_) return;
  if (status != 0) {
    if (self->receiver_) self->receiver_->on_reset();
    self->close_now();
    return;
  }
  self->flush();
  if (!self->writing_) {
    // Nothing queued: the two buffers, which take turns while a burst lasts, go back to the pool.
    SpareBuffers::give(self->in_flight_);
    SpareBuffers::give(self->pending_);
    self->maybe_shutdown();
  }
  if (self->congested_ && self->queued_bytes() <= kLowWater && !self->closing_) {
    self->congested_ = false;
    if (self->receiver_) self->receiver_->on_drain();
  }
}

void UvByteStream::finish() {
  if (closing_ || fin_requested_) return;
  fin_requested_ = true;
  maybe_shutdown();
}

void UvByteStream::maybe_shutdown() {
  if (!fin_requested_ || shutdown_started_ || writing_ || !pending_.empty() || closing_) return;
  shutdown_started_ = true;
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(pipe_),
                  &UvByteStream::on_shutdown) != 0) {
    close_now();
  }
}

void UvByteStream::on_shutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<UvByteStream*>(req->data);
  self->write_side_done_ = true;
  if (self->closing_) return;
  if (status != 0) {
    self->close_now();
    return;
  }
  self->maybe_close();
}

void UvByteStream::maybe_close() {
  if (write_side_done_ && read_side_done_) close_now();
}

void UvByteStream::reset() {
  close_now();
}

void UvByteStream::close_now() {
  if (closing_) return;
  closing_ = true;
  // The idle handle's close callback frees only itself: it may run after the pipe's.
  if (redeliver_) {
    uv_close(reinterpret_cast<uv_handle_t*>(redeliver_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  }
  uv_close(reinterpret_cast<uv_handle_t*>(pipe_), &UvByteStream::on_close);
}

void UvByteStream::on_close(uv_handle_t* h) {
  auto* self = static_cast<UvByteStream*>(h->data);
  if (self->receiver_) self->receiver_->on_closed();
  self->owned_receiver_.reset();
  if (self->on_released_) self->on_released_();
  delete reinterpret_cast<uv_pipe_t*>(h);
  delete self;
}

void UvByteStream::pause_reading() {
  paused_ = true;
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_));
    reading_ = false;
  }
}

void UvByteStream::resume_reading() {
  paused_ = false;
  if (closing_) return;
  if (!unread_.empty()) {
    // Never from inside the caller; reading restarts once the kept bytes are taken.
    uv_idle_start(redeliver_, &UvByteStream::on_redeliver);
    return;
  }
  if (reading_ || read_side_done_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(pipe_), &UvByteStream::on_alloc,
                    &UvByteStream::on_read) == 0) {
    reading_ = true;
  }
}

bool UvByteStream::peer_closed_both_ways() const {
  // A unix-socket peer that close()d (rather than shutdown(SHUT_WR)) sets both shutdown bits on
  // our side, which poll reports as POLLHUP; a half-close alone does not. That is how a client's
  // disconnect (cancel) is told from its FIN after the request (still to be answered).
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(pipe_), &fd) != 0) return false;
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) != 0;
}

void UvByteStream::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  // One read buffer per thread for all streams: receivers consume or copy the bytes before
  // on_bytes returns, so a thousand idle connections need no 64 KiB each.
  constexpr size_t kReadBufferSize = size_t{64} << 10;
  thread_local std::unique_ptr<char[]> shared;
  if (!shared) shared.reset(new char[kReadBufferSize]);
  *buf = uv_buf_init(shared.get(), static_cast<unsigned>(kReadBufferSize));
}

void UvByteStream::deliver(std::string_view bytes) {
  const size_t took = receiver_ ? std::min(receiver_->on_bytes(bytes), bytes.size()) : bytes.size();
  if (took == bytes.size() || closing_) return;
  // The receiver paused: keep the rest (the shared read buffer is reused) and read no further.
  if (!redeliver_) {
    redeliver_ = new uv_idle_t;
    uv_idle_init(pipe_->loop, redeliver_);
    redeliver_->data = this;
  }
  unread_.append(bytes.substr(took));
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_));
    reading_ = false;
  }
}

void UvByteStream::on_redeliver(uv_idle_t* idle) {
  uv_idle_stop(idle);
  static_cast<UvByteStream*>(idle->data)->deliver_unread();
}

void UvByteStream::deliver_unread() {
  if (paused_ || closing_ || unread_.empty()) return;
  const size_t took =
      receiver_ ? std::min(receiver_->on_bytes(unread_), unread_.size()) : unread_.size();
  if (closing_) return;
  unread_.erase(0, took);
  if (unread_.empty()) {
    std::string().swap(unread_);
    if (!paused_) resume_reading();
  }
}

void UvByteStream::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<UvByteStream*>(s->data);
  if (nread > 0) {
    self->deliver(std::string_view(buf->base, static_cast<size_t>(nread)));
    return;
  }
  if (nread == 0 || self->closing_) return;
  uv_read_stop(s);
  self->reading_ = false;
  self->read_side_done_ = true;
  if (nread == UV_EOF && !self->peer_closed_both_ways()) {
    if (self->receiver_) self->receiver_->on_fin();
    if (!self->closing_) self->maybe_close();
    return;
  }
  if (self->receiver_) self->receiver_->on_reset();
  self->close_now();
}

namespace {

constexpr uint64_t kConnectRetryForMs = 5000;  // then a refused connect is reported
constexpr uint64_t kConnectRetryMaxDelayMs = 50;

}  // namespace

// One connect_unix() in progress. A refused attempt's pipe is closed (freed in its close callback)
// and the next attempt makes a fresh one. `pipe` is set exactly while a uv_pipe_connect is
// outstanding. The state keeps itself alive (`self`) until its timer's close callback; the timer is
// closed only when no connect is outstanding, so no connect callback finds the state gone.
struct UnixConnectAttempt::State {
  uv_loop_t* loop = nullptr;
  std::string path;
  std::function<void(UvByteStream*, int)> done;
  std::shared_ptr<State> self;
  uv_pipe_t* pipe = nullptr;
  uv_connect_t req{};
  uv_timer_t retry{};
  uint64_t delay_ms = 1;
  uint64_t give_up_at = 0;
  bool over = false;  // `done` ran or the attempt was cancelled

  void attempt() {
    pipe = new uv_pipe_t;
    uv_pipe_init(loop, pipe, 0);
    req.data = this;
    uv_pipe_connect(&req, pipe, path.c_str(), &State::on_connect);
  }

  static void on_connect(uv_connect_t* req, int status) {
    auto* c = static_cast<State*>(req->data);
    if (c->over) {
      // cancel() closed the pipe, which cancelled this connect (UV_ECANCELED).
      c->close();
      return;
    }
    if (status == 0) {
      uv_pipe_t* connected = std::exchange(c->pipe, nullptr);
      c->finish(new UvByteStream(connected, "unix:" + c->path), 0);
      return;
    }
    close_pipe(std::exchange(c->pipe, nullptr));
    // A unix socket whose accept queue is full refuses with EAGAIN rather than queueing the
    // connect; the listener drains its queue soon, so try again shortly.
    if (status != UV_EAGAIN || uv_now(c->loop) >= c->give_up_at) {
      c->finish(nullptr, status);
      return;
    }
    uv_timer_start(
        &c->retry, [](uv_timer_t* t) { static_cast<State*>(t->data)->attempt(); }, c->delay_ms, 0);
    c->delay_ms = std::min<uint64_t>(c->delay_ms * 2, kConnectRetryMaxDelayMs);
  }

  void finish(UvByteStream* stream, int status) {
    over = true;
    close();
    done(stream, status);
  }

  void cancel() {
    if (over) return;
    over = true;
    uv_timer_stop(&retry);
    if (pipe) {
      // The outstanding connect is called back with UV_ECANCELED, which closes the timer.
      close_pipe(std::exchange(pipe, nullptr));
      return;
    }
    close();
  }

  // Frees the state (and `done`, with what it holds) from the timer's close callback.
  void close() {
    uv_close(reinterpret_cast<uv_handle_t*>(&retry), [](uv_handle_t* h) {
      std::shared_ptr<State> last = std::move(static_cast<State*>(h->data)->self);
    });
  }

  static void close_pipe(uv_pipe_t* p) {
    uv_close(reinterpret_cast<uv_handle_t*>(p),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
  }
};

void UnixConnectAttempt::cancel() {
  if (std::shared_ptr<State> state = state_.lock()) state->cancel();
}

UnixConnectAttempt connect_unix(uv_loop_t* loop, const std::string& path,
                                std::function<void(UvByteStream* stream, int status)> done) {
  auto c = std::make_shared<UnixConnectAttempt::State>();
  c->loop = loop;
  c->path = path;
  c->done = std::move(done);
  c->self = c;
  uv_timer_init(loop, &c->retry);
  c->retry.data = c.get();
  c->give_up_at = uv_now(loop) + kConnectRetryForMs;
  c->attempt();
  return UnixConnectAttempt(c);
}

}  // namespace alk::transport

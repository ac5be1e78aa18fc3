// A ByteStream over a connected libuv stream (a unix-socket connection): coalesced writes,
// half-close with uv_shutdown, read pause/resume, and bytes a paused receiver did not take kept
// for it.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "transport/byte_stream.h"

namespace alk::transport {

/// Owns its uv_pipe_t and itself: it deletes itself from the handle's close callback, after
/// calling StreamReceiver::on_closed() and the on_released hook. Create with `new`; never delete.
class UvByteStream final : public ByteStream {
 public:
  /// Takes a pipe that is already initialized and connected (accepted or uv_pipe_connect'ed).
  /// `owned_receiver`, if given, is destroyed with the stream.
  UvByteStream(uv_pipe_t* pipe, std::string peer_description);

  /// Starts reading. Call once, after set_receiver().
  void start();
  /// Called from the close callback, after on_closed, right before the stream frees itself.
  void set_on_released(std::function<void()> fn) { on_released_ = std::move(fn); }
  /// Makes the stream own `receiver` (destroyed right after on_closed).
  void adopt_receiver(std::unique_ptr<StreamReceiver> receiver);

  // ByteStream
  void set_receiver(StreamReceiver* receiver) override { receiver_ = receiver; }
  void write(std::string bytes) override;
  void append(std::string_view bytes) override;
  void append(std::string_view head, std::string_view body) override;
  size_t queued_bytes() const override { return pending_.size() + in_flight_.size(); }
  void finish() override;
  void reset() override;
  void pause_reading() override;
  void resume_reading() override;
  std::string describe_peer() const override { return peer_; }

 private:
  ~UvByteStream() override;
  void flush();
  void maybe_shutdown();
  void maybe_close();
  void close_now();
  bool peer_closed_both_ways() const;
  void deliver(std::string_view bytes);
  void deliver_unread();
  static void on_redeliver(uv_idle_t* idle);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  static void on_close(uv_handle_t* h);

  uv_pipe_t* pipe_;
  std::string peer_;
  StreamReceiver* receiver_ = nullptr;
  std::unique_ptr<StreamReceiver> owned_receiver_;
  std::function<void()> on_released_;
  // Both buffers come from a per-thread pool while there is something to write and go back to it
  // when the stream falls idle (see uv_byte_stream.cc).
  std::string pending_;    // accepted, not yet given to uv_write
  std::string in_flight_;  // owned by the uv_write in progress
  // Bytes the receiver did not take before it paused; delivered, first, after resume_reading(),
  // from redeliver_ (made when first needed, closed with the pipe, freed in its close callback).
  std::string unread_;
  uv_idle_t* redeliver_ = nullptr;
  uv_write_t write_req_{};
  uv_shutdown_t shutdown_req_{};
  bool writing_ = false;
  bool fin_requested_ = false;
  bool shutdown_started_ = false;
  bool write_side_done_ = false;
  bool read_side_done_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool closing_ = false;
  bool congested_ = false;
};

/// A connect_unix() in progress, kept to cancel it. Copyable and cheap; dropping it does not cancel
/// (the connect goes on and `done` still runs). A default-constructed one cancels nothing.
class UnixConnectAttempt {
 public:
  UnixConnectAttempt() = default;

  /// Stops the connect at once: no further attempt is made, the pending pipe and the retry timer
  /// are closed (and freed in their close callbacks, on a later loop turn), and `done` is never
  /// called. Calls nothing back synchronously. A no-op after `done` ran (including from inside
  /// `done`), after an earlier cancel(), and once the connect's memory is gone. Loop-thread only;
  /// safe from inside any callback.
  void cancel();

 private:
  struct State;
  explicit UnixConnectAttempt(std::weak_ptr<State> state) : state_(std::move(state)) {}
  friend UnixConnectAttempt connect_unix(uv_loop_t*, const std::string&,
                                         std::function<void(UvByteStream*, int)>);
  std::weak_ptr<State> state_;
};

/// Connects to a unix socket and calls `done` once, on a later loop turn (never inside this call),
/// with a started-later stream (set a receiver, then start()) or a libuv error code. A connect
/// refused with UV_EAGAIN (the listener's accept queue is full) is retried with a fresh pipe after
/// 1 ms, doubling up to 50 ms, for up to 5 s; then, and on any other error, `done` gets the error.
/// Pipes of failed attempts are freed in their close callbacks. A caller that goes away before
/// `done` ran cancels the returned attempt; `done` then never runs.
UnixConnectAttempt connect_unix(uv_loop_t* loop, const std::string& path,
                                std::function<void(UvByteStream* stream, int status)> done);

}  // namespace alk::transport

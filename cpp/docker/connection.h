// One connection to the daemon: a libuv unix pipe or TCP socket, optionally wrapped in TLS, with
// a connect timeout, a coalescing write queue, read pause/resume and half-close.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "docker/endpoint.h"
#include "docker/http_types.h"

namespace alk::docker::detail {

class TlsContext;
class TlsSession;
class Connection;

/// The client's TLS credentials, loaded once: `context`, or the reason they could not be loaded.
struct TlsSetup {
  std::shared_ptr<TlsContext> context;
  std::string error;
};

/// Told when a connection is completely closed. Implemented by the client, which owns the list of
/// live connections.
class ConnectionRegistry {
 public:
  /// `c` closed all its handles and is freed right after this returns. Bookkeeping only: the
  /// registry must not be destroyed from here.
  virtual void connection_gone(Connection* c) = 0;

 protected:
  ~ConnectionRegistry() = default;
};

/// A byte stream to the daemon. Created by open(), freed by itself after close() once every libuv
/// handle and request has called back. Used from the loop's thread only.
///
/// Events go to the current Owner. on_eof and on_failure are terminal: the connection has already
/// begun closing when they run, and the owner is detached. No owner callback runs after close() or
/// after set_owner(nullptr). Owners may call close(), read_stop() and set_owner() from inside a
/// callback; the connection checks its state after every callback.
class Connection {
 public:
  class Owner {
   public:
    /// The socket is connected (and the TLS handshake done).
    virtual void on_connected(Connection& c) = 0;
    /// Plaintext from the daemon, valid only during the call.
    virtual void on_read(Connection& c, std::string_view bytes) = 0;
    /// The daemon closed its side cleanly. The connection is closing.
    virtual void on_eof(Connection& c) = 0;
    /// Connect, timeout, TLS or socket failure. The connection is closing.
    virtual void on_failure(Connection& c, Error error) = 0;
    /// The write queue emptied after a write.
    virtual void on_drain(Connection& c) = 0;

   protected:
    ~Owner() = default;
  };

  /// What the connection carries, for ClientStats.
  enum class Role : uint8_t { busy, idle, hijacked };

  /// Size of the read buffers, which all connections of a thread share (see connection.cc).
  static constexpr size_t kReadBufferSize = size_t{64} << 10;

  /// Starts connecting to `ep` (through TLS when `ep.tls`; `tls` must then be non-null) and arms
  /// the connect timeout (0: none), which covers the TLS handshake too. Never fails
  /// synchronously: every failure arrives as Owner::on_failure, on a later loop turn.
  static Connection* open(uv_loop_t* loop, const Endpoint& ep, const TlsSetup* tls,
                          uint64_t connect_timeout_ms, Owner* owner, ConnectionRegistry* registry);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Owner* owner() const { return owner_; }
  void set_owner(Owner* owner) { owner_ = owner; }

  Role role() const { return role_; }
  /// Idle connections do not keep the loop alive.
  void set_role(Role role);

  /// True once connected (and the TLS handshake done).
  bool connected() const { return connected_; }
  /// True after close() or a terminal event: the connection can carry nothing more.
  bool closing() const { return closing_; }
  /// Requests carried so far (0 for a fresh connection).
  unsigned uses() const { return uses_; }
  void count_use() { ++uses_; }

  /// Queues `bytes` (encrypted first on TLS); consecutive writes are coalesced into one uv_write.
  /// Ignored after shutdown_write() or close(), or once a write failed.
  void write(std::string bytes);
  /// write() for bytes the caller keeps: on a plain socket with nothing queued, what the socket
  /// takes at once is written straight from `bytes` (no copy); only the rest is copied and queued.
  void append(std::string_view bytes);
  /// Bytes queued or being written: the writer's backpressure signal.
  size_t write_queue_bytes() const { return queued_bytes_ + inflight_bytes_; }
  /// Ends the daemon-bound direction once the queue is written (TLS: close_notify first).
  /// Reading continues.
  void shutdown_write();

  /// Stops and restarts reading from the socket (backpressure reaches the daemon).
  void read_stop();
  void read_start();
  /// Read batching, for bodies nobody waits on keystroke by keystroke (log follows): after two
  /// reads in a row of fewer than kBatchBelow bytes, each within kBurstNs of the one before,
  /// reading pauses for kBatchDelayMs, so the next read takes what the daemon wrote meanwhile in
  /// one piece. A daemon writing one log line per write() otherwise costs a wake-up, a read and a
  /// frame per line; a slow trickle (lines a few ms apart or more) is never delayed. Off by
  /// default.
  void set_read_batching(bool on) { batching_ = on; }
  /// Reads that were held back by batching, for tests and stats.
  uint64_t batched_pauses() const { return batched_pauses_; }

  static constexpr size_t kBatchBelow = size_t{16} << 10;
  static constexpr uint64_t kBurstNs = 1'000'000;
  static constexpr uint64_t kBatchDelayMs = 1;

  /// Arms the deadline: on expiry the connection fails with `error` (Kind::timeout). Replaces an
  /// earlier deadline; 0 disarms.
  void arm_timeout(uint64_t ms, std::string message);
  void disarm_timeout();

  /// Closes the socket and frees the connection after the close callbacks. Idempotent. No owner
  /// callback runs afterwards.
  void close();

  /// The endpoint in DOCKER_HOST form, for messages.
  const std::string& peer() const { return peer_; }

 private:
  struct WriteReq;

  Connection(uv_loop_t* loop, const Endpoint& ep, ConnectionRegistry* registry);
  ~Connection();

  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&sock_); }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&sock_); }

  void start_connect(const Endpoint& ep, const TlsSetup* tls);
  void connect_tcp(const struct sockaddr* addr);
  void on_socket_connected();
  void handshake_step();
  void became_connected();
  void on_bytes(const char* data, size_t len);
  void enqueue(std::string bytes);
  void flush();
  void maybe_shutdown();
  void end_with_eof();
  void fail(Error error);
  void fail_soon(Error error);
  static void finalize_if_done(Connection* c);

  static void on_connect(uv_connect_t* req, int status);
  static void on_resolved(uv_getaddrinfo_t* req, int status, struct addrinfo* res);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  static void on_timer(uv_timer_t* t);
  void maybe_hold_reads(size_t nread);
  void release_hold();
  static void on_close(uv_handle_t* h);

  uv_loop_t* loop_;
  ConnectionRegistry* registry_;
  Owner* owner_ = nullptr;
  std::string peer_;
  uint16_t port_ = 0;
  uv_any_handle sock_{};
  uv_timer_t timer_{};
  uv_connect_t connect_req_{};
  uv_getaddrinfo_t resolve_req_{};
  uv_shutdown_t shutdown_req_{};
  std::unique_ptr<TlsSession> tls_;

  std::vector<std::string> queue_;  // written by the next uv_write, in order
  size_t queued_bytes_ = 0;
  size_t inflight_bytes_ = 0;
  bool write_in_flight_ = false;

  Error timeout_error_;
  bool has_pending_error_ = false;  // timer_ set to 0 to report timeout_error_ soon
  int handles_open_ = 0;
  unsigned uses_ = 0;
  Role role_ = Role::busy;
  bool resolving_ = false;
  bool connected_ = false;
  bool socket_connected_ = false;
  bool want_read_ = true;
  bool reading_ = false;
  bool batching_ = false;
  bool holding_ = false;  // reading paused by batching; timer_ resumes it
  uint64_t last_read_ns_ = 0;
  unsigned quick_reads_ = 0;  // small reads in a row, each soon after the previous one
  uint64_t batched_pauses_ = 0;
  bool closing_ = false;
  bool write_failed_ = false;
  bool shutdown_requested_ = false;
  bool bye_sent_ = false;
  bool shutdown_started_ = false;
};

}  // namespace alk::docker::detail

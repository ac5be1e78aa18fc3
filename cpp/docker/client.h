// The Docker Engine API client on libuv: one-shot requests, streamed bodies and hijacked
// connections over a unix socket, TCP or TLS, with API-version negotiation and keep-alive reuse.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "docker/endpoint.h"
#include "docker/http_types.h"
#include "util/result.h"

namespace alk::docker {

struct ClientOptions {
  uint64_t connect_timeout_ms = 5000;
  uint64_t headers_timeout_ms = 60000;
  size_t max_idle_connections = 8;               ///< kept-alive connections for short requests
  size_t max_buffered_body = size_t{256} << 20;  ///< cap of a one-shot response body
  /// Forces an API version ("1.41") instead of negotiating it from /_ping (DOCKER_API_VERSION).
  std::string api_version;
};

/// The oldest and newest Engine API versions this client speaks; the negotiated version is the
/// daemon's, clamped to this range (older daemons are refused with Error::Kind::api_version).
inline constexpr std::string_view kMinApiVersion = "1.41";
inline constexpr std::string_view kMaxApiVersion = "1.45";

/// A request in flight. Destroying the handle (or calling cancel()) aborts the request: its
/// connection is closed and no callback runs afterwards. Safe to call from inside any callback of
/// the same request.
class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  virtual void cancel() = 0;
};

/// A response whose body is delivered as it arrives.
class BodyStream : public RequestHandle {
 public:
  /// Stops reading the socket (backpressure: the kernel buffer fills and the daemon blocks);
  /// on_data and on_end are not called until resume(). May be called from inside any callback,
  /// including on_head; bytes already read are held (at most one read's worth).
  virtual void pause() = 0;
  /// Undoes pause(). Held bytes are delivered first, on a later loop turn (never from inside
  /// resume()), then reading restarts.
  virtual void resume() = 0;
};

struct BodyHandlers {
  /// The 2xx status and headers, before any data. Not called for non-2xx answers (on_end gets an
  /// Error::Kind::http with the daemon's message instead).
  std::function<void(const Response& head)> on_head;
  /// Body bytes, de-chunked, in order. The view is valid only during the call.
  std::function<void(std::string_view bytes)> on_data;
  /// Exactly once, last: nullopt when the body ended cleanly, else the failure. Not called after
  /// cancel().
  std::function<void(std::optional<Error> error)> on_end;
};

/// A connection taken over after `101 Switching Protocols` (or `200`, from proxies): raw bytes
/// both ways.
class Hijacked : public BodyStream {
 public:
  /// Queues bytes for the daemon. Never fails synchronously; a broken connection ends in on_end.
  /// Bytes written before on_open are held and sent only after the switch, so nothing reaches
  /// the container's stdin through a refused request. Ignored after shutdown_write() or the end.
  virtual void write(std::string bytes) = 0;
  /// write() for bytes the caller keeps: what the socket takes at once is written without a copy.
  virtual void append(std::string_view bytes) = 0;
  /// Bytes queued and not yet handed to the kernel: the writer's backpressure signal.
  virtual size_t write_queue_bytes() const = 0;
  /// Half-closes the daemon-bound direction once queued bytes are written (shutdown(SHUT_WR); on
  /// TLS, close_notify then shutdown). Output keeps flowing until the daemon ends it.
  virtual void shutdown_write() = 0;
};

struct HijackHandlers {
  /// The connection switched to raw (status 101 or 200); headers included.
  std::function<void(const Response& head)> on_open;
  /// Raw bytes from the daemon (multiplexed or TTY, as the endpoint decides).
  std::function<void(std::string_view bytes)> on_data;
  /// The write queue fell to zero after write_queue_bytes() had been non-zero.
  std::function<void()> on_drain;
  /// Exactly once, last: nullopt at the daemon's clean EOF, else the failure (including a non-2xx
  /// answer before the switch). Not called after cancel().
  std::function<void(std::optional<Error> error)> on_end;
};

/// Counts of live connections, for tests and for leak checks after a cancelled call.
struct ClientStats {
  size_t idle = 0;      ///< kept-alive, unused
  size_t busy = 0;      ///< carrying a one-shot request or a streamed body
  size_t hijacked = 0;  ///< taken over for attach/exec
  /// Times a fast streamed body paused reading for a moment to take more per read (see
  /// Connection::set_read_batching), over the client's life.
  uint64_t batched_reads = 0;
};

/// The client. Lives on one loop and is used only from that loop's thread. Handles and callbacks
/// never outlive it: destroy every handle, then call close(), and only free the client in (or
/// after) close's callback. (Destroyed earlier, it closes itself and frees its state once the
/// libuv handles are closed; no callback runs after the destructor.)
///
/// Callbacks never run from inside send(), stream(), hijack() or any handle method: always from
/// the loop. Versioned requests wait for the first /_ping answer (one ping, however many
/// requests); a failed negotiation fails the waiting requests and the next request tries again.
/// Idle keep-alive connections do not keep the loop alive. There is no idle timeout on any
/// connection: only the connect and time-to-headers timeouts.
class Client {
 public:
  Client(uv_loop_t* loop, Endpoint endpoint, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends a request and buffers the whole response (any status). `done` runs exactly once unless
  /// the handle is cancelled or destroyed first; an Error means no complete response arrived.
  /// Uses an idle kept-alive connection when there is one and returns the connection to the pool
  /// afterwards; a GET or HEAD that finds its reused connection closed by the daemon before any
  /// answer is retried once on a fresh connection.
  [[nodiscard]] std::unique_ptr<RequestHandle> send(
      Request request, std::function<void(Result<Response, Error>)> done);

  /// Sends a request whose body is consumed incrementally (logs, events, stats, pull, wait), on a
  /// connection of its own that is closed at the end (never pooled).
  [[nodiscard]] std::unique_ptr<BodyStream> stream(Request request, BodyHandlers handlers);

  /// Sends an upgrade request (`Connection: Upgrade`, `Upgrade: tcp`) and hands over the raw
  /// connection (attach, exec start) on a connection of its own. 101 and 200 both count as the
  /// switch; another 2xx ends with Kind::upgrade_refused, a non-2xx with Kind::http. A request
  /// body is sent with its Content-Length (exec start's {"Detach":false,"Tty":false}); an
  /// endpoint that reads no body (attach) must get none, or the bytes reach the container.
  [[nodiscard]] std::unique_ptr<Hijacked> hijack(Request request, HijackHandlers handlers);

  /// The negotiated API version ("1.41"), or empty before the first answer of /_ping.
  const std::string& api_version() const;
  /// True when the negotiated version is at least `version` (e.g. "1.42").
  bool api_at_least(std::string_view version) const;

  ClientStats stats() const;
  const Endpoint& endpoint() const;
  uv_loop_t* loop() const;

  /// Closes every connection (in-flight requests end with no further callback) and calls `done`
  /// once every libuv handle is closed, from a close callback (the client may be freed there).
  /// Requests made after close() are dropped without a callback. Calling close() again adds
  /// another `done` (run at once if the client is already closed).
  void close(std::function<void()> done);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Compares dotted API versions numerically: -1, 0 or 1.
int compare_api_versions(std::string_view a, std::string_view b);

}  // namespace alk::docker

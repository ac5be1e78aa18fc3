// The client's shared state: API version negotiation, the queue of requests waiting for it, the
// live connections and the keep-alive pool. Internal to cpp/docker.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "docker/client.h"
#include "docker/connection.h"

namespace alk::docker {

namespace detail {
class Exchange;
}

class Client::Impl final : public detail::Connection::Owner, public detail::ConnectionRegistry {
 public:
  Impl(uv_loop_t* loop, Endpoint endpoint, ClientOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// Takes a new exchange: starts it, or queues it until the API version is known.
  void submit(const std::shared_ptr<detail::Exchange>& ex);

  // For exchanges.
  /// A kept-alive connection, or nullptr.
  detail::Connection* take_idle();
  /// Puts a connection that finished a request into the pool (or closes it when the pool is full).
  void release_idle(detail::Connection* c);
  /// A new connection to the daemon, owned by `owner`.
  detail::Connection* open_connection(detail::Connection::Owner* owner);
  /// `ex` finished or was cancelled: drops it from the live list and the queue.
  void forget(detail::Exchange* ex);
  /// Runs `fn` on a later loop turn (never after close()).
  void post(std::function<void()> fn);

  const ClientOptions& options() const { return options_; }
  const std::string& host_header() const { return host_header_; }

  const std::string& api_version() const { return version_; }
  ClientStats stats() const;
  const Endpoint& endpoint() const { return endpoint_; }
  uv_loop_t* loop() const { return loop_; }

  void close(std::function<void()> done);
  bool closed() const { return closed_; }
  /// The Client was destroyed before close() completed: free this once it has.
  void orphan();

  // Connection::Owner, for idle connections.
  void on_connected(detail::Connection& c) override;
  void on_read(detail::Connection& c, std::string_view bytes) override;
  void on_eof(detail::Connection& c) override;
  void on_failure(detail::Connection& c, Error error) override;
  void on_drain(detail::Connection& c) override;

  // ConnectionRegistry
  void connection_gone(detail::Connection* c) override;

 private:
  void negotiate();
  void on_ping(const Result<Response, Error>& r);
  void drop_idle(detail::Connection* c);
  void maybe_close_timer();

  static void on_defer(uv_timer_t* t);
  static void on_defer_closed(uv_handle_t* h);

  uv_loop_t* loop_;
  Endpoint endpoint_;
  ClientOptions options_;
  std::string host_header_;
  std::optional<detail::TlsSetup> tls_;

  std::string version_;                 // empty until negotiated (or forced)
  std::optional<Error> version_error_;  // a forced version we refuse
  bool negotiating_ = false;
  std::shared_ptr<detail::Exchange> ping_;

  std::vector<detail::Exchange*> live_;     // every exchange not finished nor cancelled
  std::vector<detail::Exchange*> queue_;    // waiting for the API version, in order
  std::vector<detail::Connection*> conns_;  // every connection not yet freed
  uint64_t batched_reads_of_gone_ = 0;      // ClientStats::batched_reads of freed connections
  std::vector<detail::Connection*> idle_;   // kept-alive, most recently used last

  uv_timer_t defer_timer_{};
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> close_done_;
  bool closing_ = false;
  bool timer_closing_ = false;
  bool closed_ = false;
  bool orphaned_ = false;
};

}  // namespace alk::docker

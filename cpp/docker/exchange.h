// One request's life: wait for the API version, get a connection, write the request, parse the
// response, and deliver it whole (send), piece by piece (stream) or as a raw connection (hijack).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker/client.h"
#include "docker/connection.h"
#include "docker/response_parser.h"

namespace alk::docker::detail {

/// Owned through shared_ptr by the user's handle; the client keeps raw pointers to the live ones
/// (every one of them removes itself when it finishes or is cancelled). Each entry point from
/// libuv holds a strong reference while it runs, so a handle destroyed inside a user callback
/// frees the exchange only after that entry point returns.
class Exchange final : public Connection::Owner,
                       public ResponseParser::Sink,
                       public std::enable_shared_from_this<Exchange> {
 public:
  enum class Mode { send, stream, hijack };

  Exchange(Client::Impl* impl, Mode mode, Request request);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // The user's callbacks; the one matching `mode` is used.
  std::function<void(Result<Response, Error>)> done;
  BodyHandlers body_handlers;
  HijackHandlers hijack_handlers;

  Mode mode() const { return mode_; }
  /// Whether the path takes the negotiated `/v1.NN` prefix (so the request waits for it).
  bool versioned() const { return !unversioned_; }
  bool ended() const { return finished_ || cancelled_; }

  /// Writes the request with `api_version` and takes a connection (an idle one for send).
  void start(const std::string& api_version);
  /// Ends with `error` before the request was sent (version negotiation failed).
  void fail(Error error);
  /// Marks the exchange as waiting in the client's queue.
  void set_queued(bool queued) { queued_ = queued; }

  /// Aborts: closes the connection, and no callback runs afterwards. Idempotent.
  void cancel();
  /// Like cancel() but without telling the client, which is closing and drops its lists itself.
  void abandon();

  void pause();
  void resume();
  void write(std::string bytes);
  void append(std::string_view bytes);  // write() without a copy of what the socket takes at once
  size_t write_queue_bytes() const;
  void shutdown_write();

  // Connection::Owner
  void on_connected(Connection& c) override;
  void on_read(Connection& c, std::string_view bytes) override;
  void on_eof(Connection& c) override;
  void on_failure(Connection& c, Error error) override;
  void on_drain(Connection& c) override;

  // ResponseParser::Sink
  ResponseParser::HeadAction on_head(Response& head) override;
  bool on_body(std::string_view piece) override;

 private:
  void connect();
  void attach(Connection* c);
  void send_request();
  void consume(std::string_view bytes);
  void deliver_raw(std::string_view bytes);
  void message_complete(bool trailing_bytes);
  void upgraded();
  void handle_eof();
  void handle_failure(Error error);
  bool may_retry() const;
  void retry();
  void drain_pending();
  void detach_connection(bool close);
  void finish(std::optional<Error> error);
  void finish_response(Response response);
  void release_handlers();
  void forget();
  std::string peer() const;

  /// Runs a user callback; afterwards, handlers dropped by a cancel from inside it are released.
  template <class F, class... Args>
  void call(F& f, Args&&... args);

  Client::Impl* impl_;
  Mode mode_;
  std::string method_;
  bool unversioned_;
  uint64_t headers_timeout_ms_;
  Request request_;   // until start()
  std::string wire_;  // the serialised request, kept by send for one retry
  Connection* conn_ = nullptr;
  std::unique_ptr<ResponseParser> parser_;
  Response head_;
  std::string body_;  // send, and the error body of a non-2xx stream or hijack answer

  std::string pending_;  // bytes received while paused, delivered on resume
  bool pending_end_ = false;
  std::optional<Error> pending_error_;

  std::vector<std::string> early_writes_;  // hijack bytes written before the switch
  size_t early_bytes_ = 0;

  int calling_ = 0;
  bool queued_ = false;
  bool reused_ = false;
  bool retried_ = false;
  bool error_body_ = false;
  bool body_overflow_ = false;
  bool upgraded_ = false;
  bool paused_ = false;
  bool parser_paused_ = false;  // the parser stopped mid-message for a pause()
  bool drain_posted_ = false;
  bool wrote_ = false;
  bool shutdown_requested_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
};

}  // namespace alk::docker::detail

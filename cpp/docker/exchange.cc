#include "docker/exchange.h"

#include "docker/client_impl.h"
#include "docker/request_writer.h"

namespace alk::docker::detail {

namespace {

Error make_error(Error::Kind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

}  // namespace

Exchange::Exchange(Client::Impl* impl, Mode mode, Request request)
    : impl_(impl),
      mode_(mode),
      method_(request.method),
      unversioned_(request.unversioned),
      headers_timeout_ms_(request.headers_timeout_ms),
      request_(std::move(request)) {}

Exchange::~Exchange() {
  // A handle is destroyed only through cancel(), so no connection is left; this is a safety net.
  if (conn_ != nullptr) detach_connection(true);
}

template <class F, class... Args>
void Exchange::call(F& f, Args&&... args) {
  if (!f) return;
  ++calling_;
  f(std::forward<Args>(args)...);
  --calling_;
  if (cancelled_ && calling_ == 0) release_handlers();
}

void Exchange::start(const std::string& api_version) {
  wire_ = write_request(request_, api_version, impl_->host_header(),
                        mode_ == Mode::hijack ? RequestMode::upgrade : RequestMode::plain);
  request_ = Request{};
  connect();
}

void Exchange::connect() {
  // Only one-shot requests reuse connections: a stream's end is the connection's end.
  if (mode_ == Mode::send && !retried_) {
    if (Connection* c = impl_->take_idle()) {
      reused_ = true;
      attach(c);
      send_request();
      return;
    }
  }
  reused_ = false;
  attach(impl_->open_connection(this));
}

void Exchange::attach(Connection* c) {
  conn_ = c;
  c->set_owner(this);
  c->set_role(Connection::Role::busy);
  c->count_use();
}

void Exchange::send_request() {
  parser_ = std::make_unique<ResponseParser>(*this);
  if (paused_) conn_->read_stop();
  if (mode_ == Mode::send) {
    conn_->write(wire_);  // kept for a retry on a fresh connection
  } else {
    conn_->write(std::move(wire_));
    wire_.clear();
  }
  const uint64_t ms =
      headers_timeout_ms_ != 0 ? headers_timeout_ms_ : impl_->options().headers_timeout_ms;
  conn_->arm_timeout(
      ms, "no response headers from " + conn_->peer() + " within " + std::to_string(ms) + " ms");
}

void Exchange::fail(Error error) {
  if (ended()) return;
  auto self = shared_from_this();
  finish(std::move(error));
}

void Exchange::cancel() {
  if (ended()) return;
  cancelled_ = true;
  detach_connection(true);
  forget();
  release_handlers();
}

void Exchange::abandon() {
  impl_ = nullptr;
  cancel();
}

std::string Exchange::peer() const {
  return impl_ != nullptr ? impl_->endpoint().describe() : std::string("the daemon");
}

void Exchange::forget() {
  if (impl_ != nullptr) impl_->forget(this);
  queued_ = false;
}

void Exchange::release_handlers() {
  // A handler may be running (a cancel from inside it): then call() releases them afterwards.
  if (calling_ > 0) return;
  done = nullptr;
  body_handlers = BodyHandlers{};
  hijack_handlers = HijackHandlers{};
}

void Exchange::detach_connection(bool close) {
  if (conn_ == nullptr) return;
  Connection* c = conn_;
  conn_ = nullptr;
  c->set_owner(nullptr);
  if (close) c->close();
}

void Exchange::pause() {
  if (ended() || paused_) return;
  paused_ = true;
  if (conn_ != nullptr) conn_->read_stop();
}

void Exchange::resume() {
  if (ended() || !paused_) return;
  paused_ = false;
  if (!pending_.empty() || pending_end_ || parser_paused_) {
    // Held bytes go first, from the loop: resume() may be called from any callback.
    if (!drain_posted_ && impl_ != nullptr) {
      drain_posted_ = true;
      impl_->post([weak = weak_from_this()] {
        if (auto ex = weak.lock()) ex->drain_pending();
      });
    }
    return;
  }
  if (conn_ != nullptr) conn_->read_start();
}

void Exchange::drain_pending() {
  drain_posted_ = false;
  if (ended() || paused_) return;
  std::string held;
  held.swap(pending_);
  consume(held);
  if (ended() || paused_) return;
  if (pending_end_) {
    pending_end_ = false;
    if (pending_error_) {
      Error e = std::move(*pending_error_);
      pending_error_.reset();
      handle_failure(std::move(e));
    } else {
      handle_eof();
    }
    return;
  }
  if (conn_ != nullptr) conn_->read_start();
}

void Exchange::write(std::string bytes) {
  if (ended() || shutdown_requested_ || bytes.empty()) return;
  wrote_ = true;
  if (!upgraded_ || conn_ == nullptr) {
    // Nothing reaches the daemon before it switched protocols.
    if (!upgraded_) {
      early_bytes_ += bytes.size();
      early_writes_.push_back(std::move(bytes));
    }
    return;
  }
  conn_->write(std::move(bytes));
}

void Exchange::append(std::string_view bytes) {
  if (upgraded_ && conn_ != nullptr && !ended() && !shutdown_requested_ && !bytes.empty()) {
    wrote_ = true;
    conn_->append(bytes);
    return;
  }
  write(std::string(bytes));
}

size_t Exchange::write_queue_bytes() const {
  if (!upgraded_) return early_bytes_;
  return conn_ != nullptr ? conn_->write_queue_bytes() : 0;
}

void Exchange::shutdown_write() {
  if (ended() || shutdown_requested_) return;
  shutdown_requested_ = true;
  if (upgraded_ && conn_ != nullptr) conn_->shutdown_write();
}

// --- Connection events ---------------------------------------------------------------------

void Exchange::on_connected(Connection& /*c*/) {
  auto self = shared_from_this();
  send_request();
}

void Exchange::on_read(Connection& /*c*/, std::string_view bytes) {
  auto self = shared_from_this();
  if (paused_ || !pending_.empty() || parser_paused_) {
    pending_.append(bytes);  // after what is held, in order
    return;
  }
  consume(bytes);
}

void Exchange::on_eof(Connection& /*c*/) {
  auto self = shared_from_this();
  conn_ = nullptr;  // it is closing
  if (paused_ || !pending_.empty() || parser_paused_) {
    pending_end_ = true;
    return;
  }
  handle_eof();
}

void Exchange::on_failure(Connection& /*c*/, Error error) {
  auto self = shared_from_this();
  conn_ = nullptr;
  if (paused_ || !pending_.empty() || parser_paused_) {
    pending_end_ = true;
    pending_error_ = std::move(error);
    return;
  }
  handle_failure(std::move(error));
}

void Exchange::on_drain(Connection& /*c*/) {
  if (!upgraded_ || !wrote_ || ended()) return;
  auto self = shared_from_this();
  wrote_ = false;
  call(hijack_handlers.on_drain);
}

// --- Parsing -------------------------------------------------------------------------------

void Exchange::consume(std::string_view bytes) {
  if (upgraded_) {
    deliver_raw(bytes);
    return;
  }
  // A parser paused on the last body byte still owes the message end: feed it even nothing.
  bool nudge = parser_paused_;
  parser_paused_ = false;
  while (!bytes.empty() || nudge) {
    nudge = false;
    const ResponseParser::Outcome out = parser_->feed(bytes);
    if (ended()) return;
    bytes.remove_prefix(out.consumed);
    switch (out.status) {
      case ResponseParser::Status::more:
        return;
      case ResponseParser::Status::paused:
        if (body_overflow_) {
          finish(make_error(Error::Kind::protocol,
                            "response body larger than " +
                                std::to_string(impl_->options().max_buffered_body) + " bytes"));
          return;
        }
        if (paused_) {
          pending_.insert(0, bytes.data(), bytes.size());
          parser_paused_ = true;
          return;
        }
        break;  // paused and resumed inside the same callback: go on
      case ResponseParser::Status::complete:
        message_complete(!bytes.empty());
        return;
      case ResponseParser::Status::upgraded:
        upgraded();
        if (ended()) return;
        deliver_raw(bytes);
        return;
      case ResponseParser::Status::error:
        finish(make_error(Error::Kind::protocol,
                          "invalid HTTP response from " + peer() + ": " + out.error));
        return;
    }
  }
}

void Exchange::deliver_raw(std::string_view bytes) {
  if (bytes.empty()) return;
  if (paused_) {
    pending_.append(bytes);
    return;
  }
  call(hijack_handlers.on_data, bytes);
}

ResponseParser::HeadAction Exchange::on_head(Response& head) {
  if (conn_ != nullptr) conn_->disarm_timeout();
  switch (mode_) {
    case Mode::send:
      head_ = std::move(head);
      return ResponseParser::HeadAction::body;
    case Mode::stream:
      if (!head.ok()) break;
      // Streamed bodies (logs, events, stats, progress) are read in batches when they come fast;
      // hijacked streams are interactive and never are.
      if (conn_ != nullptr) conn_->set_read_batching(true);
      call(body_handlers.on_head, static_cast<const Response&>(head));
      head = Response{};  // a follow may stay open for days: its headers are not kept (~1 KiB)
      return ended() || paused_ ? ResponseParser::HeadAction::pause
                                : ResponseParser::HeadAction::body;
    case Mode::hijack:
      if (head.status != 101 && head.status != 200) break;
      head_ = std::move(head);
      return ResponseParser::HeadAction::upgrade;
  }
  error_body_ = true;
  head_ = std::move(head);
  return ResponseParser::HeadAction::body;
}

bool Exchange::on_body(std::string_view piece) {
  if (ended()) return false;
  if (mode_ == Mode::send || error_body_) {
    if (body_.size() + piece.size() > impl_->options().max_buffered_body) {
      body_overflow_ = true;
      return false;
    }
    body_.append(piece);
    return true;
  }
  call(body_handlers.on_data, piece);
  return !ended() && !paused_;
}

void Exchange::message_complete(bool trailing_bytes) {
  if (mode_ == Mode::send) {
    Response r = std::move(head_);
    r.body = std::move(body_);
    // A daemon never pipelines, so bytes after the response mean the connection is unusable.
    if (conn_ != nullptr && parser_->keep_alive() && !trailing_bytes && impl_ != nullptr) {
      Connection* c = conn_;
      detach_connection(false);
      impl_->release_idle(c);
    }
    finish_response(std::move(r));
    return;
  }
  if (error_body_) {
    head_.body = std::move(body_);
    if (mode_ == Mode::hijack && head_.ok()) {
      finish(make_error(
          Error::Kind::upgrade_refused,
          "the daemon answered " + std::to_string(head_.status) + " without switching protocols"));
      return;
    }
    finish(Error::from_response(head_));
    return;
  }
  finish(std::nullopt);
}

void Exchange::upgraded() {
  upgraded_ = true;
  if (conn_ != nullptr) conn_->set_role(Connection::Role::hijacked);
  call(hijack_handlers.on_open, static_cast<const Response&>(head_));
  if (ended() || conn_ == nullptr) return;
  for (std::string& b : early_writes_) conn_->write(std::move(b));
  early_writes_.clear();
  early_bytes_ = 0;
  if (shutdown_requested_) conn_->shutdown_write();
}

// --- Endings -------------------------------------------------------------------------------

void Exchange::handle_eof() {
  if (upgraded_) {
    finish(std::nullopt);
    return;
  }
  if (!parser_) {
    handle_failure(make_error(Error::Kind::unavailable, "the daemon closed the connection"));
    return;
  }
  const ResponseParser::Outcome out = parser_->finish();
  if (ended()) return;
  if (out.status == ResponseParser::Status::complete) {
    message_complete(false);
    return;
  }
  handle_failure(make_error(Error::Kind::unavailable, peer() + ": " + out.error));
}

void Exchange::handle_failure(Error error) {
  if (may_retry() && error.kind == Error::Kind::unavailable) {
    retry();
    return;
  }
  finish(std::move(error));
}

bool Exchange::may_retry() const {
  // A kept-alive connection the daemon closed just as we reused it: nothing was processed, and
  // repeating a GET or HEAD is harmless.
  return mode_ == Mode::send && reused_ && !retried_ && impl_ != nullptr &&
         (parser_ == nullptr || !parser_->started()) && (method_ == "GET" || method_ == "HEAD");
}

void Exchange::retry() {
  retried_ = true;
  parser_.reset();
  connect();
}

void Exchange::finish(std::optional<Error> error) {
  if (ended()) return;
  finished_ = true;
  detach_connection(true);
  forget();
  if (mode_ == Mode::send) {
    auto cb = std::move(done);
    release_handlers();
    // A send always ends with a response (finish_response) or an error.
    if (cb)
      cb(unexpected(error ? std::move(*error) : make_error(Error::Kind::protocol, "no response")));
    return;
  }
  auto cb =
      mode_ == Mode::stream ? std::move(body_handlers.on_end) : std::move(hijack_handlers.on_end);
  release_handlers();
  if (cb) cb(std::move(error));
}

void Exchange::finish_response(Response response) {
  if (ended()) return;
  finished_ = true;
  detach_connection(true);
  forget();
  auto cb = std::move(done);
  release_handlers();
  if (cb) cb(std::move(response));
}

}  // namespace alk::docker::detail

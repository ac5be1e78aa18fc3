#include "docker/client.h"

#include <algorithm>

#include "docker/client_impl.h"
#include "docker/exchange.h"
#include "docker/tls_socket.h"

namespace alk::docker {

using detail::Connection;
using detail::Exchange;

namespace {

Error make_error(Error::Kind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

bool is_version_text(std::string_view v) {
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

// The user's handles: thin owners of an exchange. Destroying one cancels the request.

class SendHandle final : public RequestHandle {
 public:
  explicit SendHandle(std::shared_ptr<Exchange> ex) : ex_(std::move(ex)) {}
  ~SendHandle() override { ex_->cancel(); }
  void cancel() override { ex_->cancel(); }

 private:
  std::shared_ptr<Exchange> ex_;
};

class StreamHandle final : public BodyStream {
 public:
  explicit StreamHandle(std::shared_ptr<Exchange> ex) : ex_(std::move(ex)) {}
  ~StreamHandle() override { ex_->cancel(); }
  void cancel() override { ex_->cancel(); }
  void pause() override { ex_->pause(); }
  void resume() override { ex_->resume(); }

 private:
  std::shared_ptr<Exchange> ex_;
};

class HijackHandle final : public Hijacked {
 public:
  explicit HijackHandle(std::shared_ptr<Exchange> ex) : ex_(std::move(ex)) {}
  ~HijackHandle() override { ex_->cancel(); }
  void cancel() override { ex_->cancel(); }
  void pause() override { ex_->pause(); }
  void resume() override { ex_->resume(); }
  void write(std::string bytes) override { ex_->write(std::move(bytes)); }
  void append(std::string_view bytes) override { ex_->append(bytes); }
  size_t write_queue_bytes() const override { return ex_->write_queue_bytes(); }
  void shutdown_write() override { ex_->shutdown_write(); }

 private:
  std::shared_ptr<Exchange> ex_;
};

}  // namespace

int compare_api_versions(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    auto take = [](std::string_view& s) {
      unsigned long n = 0;
      size_t i = 0;
      for (; i < s.size() && s[i] != '.'; ++i) {
        if (s[i] >= '0' && s[i] <= '9') n = n * 10 + static_cast<unsigned long>(s[i] - '0');
      }
      s.remove_prefix(i < s.size() ? i + 1 : i);
      return n;
    };
    const unsigned long x = take(a);
    const unsigned long y = take(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// --- Client::Impl ----------------------------------------------------------------------------

Client::Impl::Impl(uv_loop_t* loop, Endpoint endpoint, ClientOptions options)
    : loop_(loop), endpoint_(std::move(endpoint)), options_(std::move(options)) {
  uv_timer_init(loop_, &defer_timer_);
  defer_timer_.data = this;
  if (endpoint_.kind == Endpoint::Kind::unix_socket) {
    host_header_ = "docker";
  } else {
    host_header_ = endpoint_.describe().substr(6);  // "host:port" of "tcp://host:port"
  }
  if (endpoint_.kind == Endpoint::Kind::tcp && endpoint_.tls) {
    detail::TlsSetup setup;
    auto ctx = detail::TlsContext::load(endpoint_);
    if (ctx) {
      setup.context = std::move(ctx.value());
    } else {
      setup.error = ctx.error();
    }
    tls_ = std::move(setup);
  }
  if (!options_.api_version.empty()) {
    const std::string& v = options_.api_version;
    if (!is_version_text(v)) {
      version_error_ = make_error(Error::Kind::api_version, "invalid API version \"" + v + "\"");
    } else if (compare_api_versions(v, kMinApiVersion) < 0) {
      version_error_ = make_error(Error::Kind::api_version,
                                  "API version " + v + " is older than the oldest supported, " +
                                      std::string(kMinApiVersion));
    } else {
      version_ = v;
    }
  }
}

Client::Impl::~Impl() = default;

void Client::Impl::submit(const std::shared_ptr<Exchange>& ex) {
  if (closing_) {
    ex->abandon();  // a closed client takes no requests; no callback will run
    return;
  }
  live_.push_back(ex.get());
  if (!ex->versioned() || !version_.empty()) {
    ex->start(version_);
    return;
  }
  if (version_error_) {
    post([weak = std::weak_ptr<Exchange>(ex), e = *version_error_] {
      if (auto x = weak.lock()) x->fail(e);
    });
    return;
  }
  ex->set_queued(true);
  queue_.push_back(ex.get());
  negotiate();
}

void Client::Impl::negotiate() {
  if (negotiating_) return;
  negotiating_ = true;
  Request ping;
  ping.path = "/_ping";
  ping.unversioned = true;
  ping_ = std::make_shared<Exchange>(this, Exchange::Mode::send, std::move(ping));
  ping_->done = [this](const Result<Response, Error>& r) { on_ping(r); };
  live_.push_back(ping_.get());
  ping_->start({});
}

void Client::Impl::on_ping(const Result<Response, Error>& r) {
  negotiating_ = false;
  std::optional<Error> error;
  if (!r.ok()) {
    error = r.error();
  } else if (const std::string* v = r->header("API-Version");
             v == nullptr || !is_version_text(*v)) {
    error = r->ok() ? make_error(Error::Kind::protocol,
                                 "the daemon's /_ping answer has no valid API-Version header")
                    : Error::from_response(r.value());
  } else if (compare_api_versions(*v, kMinApiVersion) < 0) {
    error = make_error(Error::Kind::api_version, "the daemon speaks Engine API " + *v +
                                                     ", older than the oldest supported, " +
                                                     std::string(kMinApiVersion));
  } else {
    version_ = compare_api_versions(*v, kMaxApiVersion) > 0 ? std::string(kMaxApiVersion) : *v;
  }
  // Strong references: a user callback below may drop the handles of other queued requests.
  std::vector<std::shared_ptr<Exchange>> batch;
  batch.reserve(queue_.size());
  for (Exchange* ex : queue_) batch.push_back(ex->shared_from_this());
  queue_.clear();
  for (const auto& ex : batch) {
    ex->set_queued(false);
    if (ex->ended()) continue;  // cancelled, or the client closed, from an earlier callback
    if (error) {
      ex->fail(*error);  // the next request negotiates again
    } else {
      ex->start(version_);
    }
  }
}

Connection* Client::Impl::take_idle() {
  while (!idle_.empty()) {
    Connection* c = idle_.back();
    idle_.pop_back();
    if (!c->closing()) return c;
  }
  return nullptr;
}

void Client::Impl::release_idle(Connection* c) {
  if (closing_ || options_.max_idle_connections == 0) {
    c->close();
    return;
  }
  c->set_owner(this);
  c->set_role(Connection::Role::idle);
  c->disarm_timeout();
  c->read_start();  // to notice the daemon closing it
  idle_.push_back(c);
  while (idle_.size() > options_.max_idle_connections) {
    Connection* oldest = idle_.front();
    idle_.erase(idle_.begin());
    oldest->close();
  }
}

Connection* Client::Impl::open_connection(Connection::Owner* owner) {
  Connection* c = Connection::open(loop_, endpoint_, tls_ ? &*tls_ : nullptr,
                                   options_.connect_timeout_ms, owner, this);
  conns_.push_back(c);
  return c;
}

void Client::Impl::forget(Exchange* ex) {
  if (auto it = std::find(live_.begin(), live_.end(), ex); it != live_.end()) live_.erase(it);
  if (auto it = std::find(queue_.begin(), queue_.end(), ex); it != queue_.end()) queue_.erase(it);
}

void Client::Impl::post(std::function<void()> fn) {
  if (timer_closing_) return;
  deferred_.push_back(std::move(fn));
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&defer_timer_))) {
    uv_timer_start(&defer_timer_, &Impl::on_defer, 0, 0);
  }
}

void Client::Impl::on_defer(uv_timer_t* t) {
  auto* impl = static_cast<Impl*>(t->data);
  std::vector<std::function<void()>> batch;
  batch.swap(impl->deferred_);
  // Each task checks that its exchange is still live; the client outlives this callback because
  // it is freed only after the close callback of this very timer.
  for (auto& fn : batch) fn();
}

ClientStats Client::Impl::stats() const {
  ClientStats s;
  s.batched_reads = batched_reads_of_gone_;
  for (const Connection* c : conns_) {
    s.batched_reads += c->batched_pauses();
    if (c->closing()) continue;
    switch (c->role()) {
      case Connection::Role::idle:
        ++s.idle;
        break;
      case Connection::Role::busy:
        ++s.busy;
        break;
      case Connection::Role::hijacked:
        ++s.hijacked;
        break;
    }
  }
  return s;
}

void Client::Impl::drop_idle(Connection* c) {
  if (auto it = std::find(idle_.begin(), idle_.end(), c); it != idle_.end()) idle_.erase(it);
}

void Client::Impl::on_connected(Connection& /*c*/) {}

void Client::Impl::on_read(Connection& c, std::string_view /*bytes*/) {
  // Nothing may arrive on an idle connection: it is out of step, drop it.
  drop_idle(&c);
  c.close();
}

void Client::Impl::on_eof(Connection& c) {
  drop_idle(&c);
}

void Client::Impl::on_failure(Connection& c, Error /*error*/) {
  drop_idle(&c);
}

void Client::Impl::on_drain(Connection& /*c*/) {}

void Client::Impl::connection_gone(Connection* c) {
  batched_reads_of_gone_ += c->batched_pauses();
  drop_idle(c);
  if (auto it = std::find(conns_.begin(), conns_.end(), c); it != conns_.end()) conns_.erase(it);
  maybe_close_timer();
}

void Client::Impl::close(std::function<void()> done) {
  if (closed_) {
    if (done) done();
    return;
  }
  if (done) close_done_.push_back(std::move(done));
  if (closing_) return;
  closing_ = true;
  // Strong references first: abandoning one exchange releases user callbacks, which may own the
  // handles of others.
  std::vector<std::shared_ptr<Exchange>> all;
  all.reserve(live_.size());
  for (Exchange* ex : live_) all.push_back(ex->shared_from_this());
  live_.clear();
  queue_.clear();
  for (const auto& ex : all) ex->abandon();
  all.clear();
  ping_.reset();
  idle_.clear();
  const std::vector<Connection*> conns = conns_;
  for (Connection* c : conns) c->close();
  maybe_close_timer();
}

void Client::Impl::maybe_close_timer() {
  if (!closing_ || timer_closing_ || !conns_.empty()) return;
  timer_closing_ = true;
  deferred_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&defer_timer_), &Impl::on_defer_closed);
}

void Client::Impl::on_defer_closed(uv_handle_t* h) {
  auto* impl = static_cast<Impl*>(h->data);
  impl->closed_ = true;
  std::vector<std::function<void()>> dones;
  dones.swap(impl->close_done_);
  // Free an orphan first; a done callback may free the Client (and with it this Impl) itself.
  if (impl->orphaned_) delete impl;
  for (auto& d : dones) d();
}

void Client::Impl::orphan() {
  orphaned_ = true;
  close(nullptr);
}

// --- Client ----------------------------------------------------------------------------------

Client::Client(uv_loop_t* loop, Endpoint endpoint, ClientOptions options)
    : impl_(std::make_unique<Impl>(loop, std::move(endpoint), std::move(options))) {}

Client::~Client() {
  if (!impl_ || impl_->closed()) return;
  // Destroyed before close() completed: the handles still need their close callbacks, so the
  // state frees itself once they ran.
  impl_.release()->orphan();
}

std::unique_ptr<RequestHandle> Client::send(Request request,
                                            std::function<void(Result<Response, Error>)> done) {
  auto ex = std::make_shared<Exchange>(impl_.get(), Exchange::Mode::send, std::move(request));
  ex->done = std::move(done);
  impl_->submit(ex);
  return std::make_unique<SendHandle>(std::move(ex));
}

std::unique_ptr<BodyStream> Client::stream(Request request, BodyHandlers handlers) {
  auto ex = std::make_shared<Exchange>(impl_.get(), Exchange::Mode::stream, std::move(request));
  ex->body_handlers = std::move(handlers);
  impl_->submit(ex);
  return std::make_unique<StreamHandle>(std::move(ex));
}

std::unique_ptr<Hijacked> Client::hijack(Request request, HijackHandlers handlers) {
  auto ex = std::make_shared<Exchange>(impl_.get(), Exchange::Mode::hijack, std::move(request));
  ex->hijack_handlers = std::move(handlers);
  impl_->submit(ex);
  return std::make_unique<HijackHandle>(std::move(ex));
}

const std::string& Client::api_version() const {
  return impl_->api_version();
}

bool Client::api_at_least(std::string_view version) const {
  return !impl_->api_version().empty() && compare_api_versions(impl_->api_version(), version) >= 0;
}

ClientStats Client::stats() const {
  return impl_->stats();
}

const Endpoint& Client::endpoint() const {
  return impl_->endpoint();
}

uv_loop_t* Client::loop() const {
  return impl_->loop();
}

void Client::close(std::function<void()> done) {
  impl_->close(std::move(done));
}

}  // namespace alk::docker

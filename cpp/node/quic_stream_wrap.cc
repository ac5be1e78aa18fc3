#include "node/quic_stream_wrap.h"

#include "node/addon.h"
#include "node/invoke.h"
#include "node/quic_connection_wrap.h"
#include "node/quic_host.h"
#include "transport/quic/quic_stream.h"

namespace alk::node {

using transport::ByteStream;

Napi::Function QuicStreamWrap::Define(Napi::Env env) {
  return DefineClass(env, "QuicStream",
                     {
                         InstanceMethod<&QuicStreamWrap::Write>("write"),
                         InstanceMethod<&QuicStreamWrap::End>("end"),
                         InstanceMethod<&QuicStreamWrap::Reset>("reset"),
                         InstanceMethod<&QuicStreamWrap::Pause>("pause"),
                         InstanceMethod<&QuicStreamWrap::Resume>("resume"),
                         InstanceMethod<&QuicStreamWrap::IsLive>("isLive"),
                     });
}

QuicStreamWrap::QuicStreamWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<QuicStreamWrap>(info) {
  Napi::Env env = info.Env();
  addon_ = Addon::from(env);
  if (addon_->closing) {
    Napi::Error::New(env, "the environment is shutting down").ThrowAsJavaScriptException();
    return;
  }
  if (info.Length() < 2 || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "QuicStream(connection, receiver)").ThrowAsJavaScriptException();
    return;
  }
  std::shared_ptr<QuicHost> host = QuicConnectionWrap::HostOf(info[0]);
  if (!host) {
    Napi::TypeError::New(env, "QuicStream: not a QuicConnection").ThrowAsJavaScriptException();
    return;
  }
  receiver_ = Napi::Persistent(info[1].As<Napi::Function>());
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "alknet.QuicStream",
                                                        info.This().As<Napi::Object>());
  live_ = true;
  Ref();
  host_ = std::move(host);
  host_->add_stream(this);
  transport::quic::QuicClient* client = host_->client();
  if (client == nullptr) {
    fail("the QUIC connection is closed", true, false);
    return;
  }
  // The callback runs on a later loop turn (never inside this constructor), and not at all
  // after cancel_open or once the client is disposed (QuicHost::close tells us then).
  ticket_ = client->open_stream(
      [this](transport::quic::QuicStream* s, const transport::quic::QuicFailure* failure) {
        ticket_ = 0;
        if (s == nullptr) {
          fail(failure->message, failure->retryable, failure->refused_by_peer);
          return;
        }
        opened(s);
      });
}

QuicStreamWrap::~QuicStreamWrap() {
  // Live objects are strongly referenced, so only released ones are finalized — except at env
  // teardown, where the cleanup hook already abandoned every stream.
  if (live_ || stream_ != nullptr || ticket_ != 0) abandon();
}

void QuicStreamWrap::opened(transport::quic::QuicStream* stream) {
  if (done_) {
    stream->reset();
    return;
  }
  stream_ = stream;
  stream_->set_receiver(this);
  if (!outbox_.empty()) stream_->write(std::move(outbox_));
  outbox_.clear();
  if (end_requested_) stream_->finish();
  if (paused_) stream_->pause_reading();
  push(QuicStreamEvent::open);
}

// ---- StreamReceiver: only queue ----

size_t QuicStreamWrap::on_bytes(std::string_view bytes) {
  if (done_ || bytes.empty()) return bytes.size();
  if (events_.empty() || events_.back().kind != QuicStreamEvent::data) {
    events_.push_back(Event{QuicStreamEvent::data, {}});
  }
  events_.back().bytes += bytes;
  if (live_ && addon_->flusher != nullptr) addon_->flusher->schedule(this);
  return bytes.size();
}

void QuicStreamWrap::on_fin() {
  push(QuicStreamEvent::end);
}

void QuicStreamWrap::on_reset() {
  if (done_ || stream_ == nullptr) return;
  // Either the connection ended (failure() says why: a TLS refusal of our certificate is not
  // worth retrying) or the server reset this one stream.
  const std::string& why = stream_->failure();
  events_.push_back(Event{QuicStreamEvent::error, why.empty() ? "the stream was reset" : why,
                          stream_->failure_retryable(), stream_->failure_forbidden()});
  if (live_ && addon_->flusher != nullptr) addon_->flusher->schedule(this);
}

void QuicStreamWrap::on_drain() {
  push(QuicStreamEvent::drain);
}

void QuicStreamWrap::on_closed() {
  stream_ = nullptr;
  if (done_) return;
  push(QuicStreamEvent::close);
  done_ = true;
}

void QuicStreamWrap::connection_closed(const transport::quic::QuicFailure& failure) {
  // The disposed client forgot the pending open.
  if (ticket_ == 0 || done_) return;
  ticket_ = 0;
  fail(failure.message, failure.retryable, failure.refused_by_peer);
}

void QuicStreamWrap::fail(std::string message, bool retryable, bool forbidden) {
  if (done_) return;
  events_.push_back(Event{QuicStreamEvent::error, std::move(message), retryable, forbidden});
  push(QuicStreamEvent::close);
  done_ = true;
}

void QuicStreamWrap::push(QuicStreamEvent kind, std::string bytes) {
  if (done_) return;
  events_.push_back(Event{kind, std::move(bytes)});
  if (live_ && addon_->flusher != nullptr) addon_->flusher->schedule(this);
}

// ---- delivery ----

void QuicStreamWrap::deliver() {
  if (!live_ || addon_->closing || events_.empty()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  std::vector<Event> events;
  events.swap(events_);
  Napi::Array batch = Napi::Array::New(env, events.size() * 2);
  uint32_t i = 0;
  for (Event& e : events) {
    Napi::Value value = env.Undefined();
    if (e.kind == QuicStreamEvent::data) {
      value = Napi::Value(env, Napi::Buffer<char>::Copy(env, e.bytes.data(), e.bytes.size()));
    } else if (e.kind == QuicStreamEvent::error) {
      Napi::Object err = Napi::Object::New(env);
      err.Set("message", Napi::String::New(env, e.bytes));
      err.Set("retryable", Napi::Boolean::New(env, e.retryable));
      err.Set("forbidden", Napi::Boolean::New(env, e.forbidden));
      value = err;
    }
    batch.Set(i++, Napi::Number::New(env, static_cast<int>(e.kind)));
    batch.Set(i++, value);
  }
  Napi::Object self = Value();
  Napi::Value receiver = receiver_.Value();
  // The receiver may reset the stream, which releases the context: keep it out of reach for the
  // duration of the call.
  std::unique_ptr<Napi::AsyncContext> context = std::move(async_context_);
  // With the close event in this batch, release first: the stream is gone for whatever JS does
  // next.
  if (done_) release();
  invoke(env, *context, self, receiver, {batch});
  if (live_) async_context_ = std::move(context);
}

// ---- endings ----

void QuicStreamWrap::abandon() {
  done_ = true;
  events_.clear();
  if (ticket_ != 0) {
    if (host_ && host_->client() != nullptr) host_->client()->cancel_open(ticket_);
    ticket_ = 0;
  }
  if (stream_ != nullptr) {
    stream_->set_receiver(nullptr);
    stream_->reset();
    stream_ = nullptr;
  }
  release();
}

void QuicStreamWrap::release() {
  if (!live_) return;
  live_ = false;
  if (addon_->flusher != nullptr) addon_->flusher->cancel(this);
  if (host_) host_->remove_stream(this);
  host_.reset();
  receiver_.Reset();
  async_context_.reset();
  Unref();
}

// ---- JS methods ----

Napi::Value QuicStreamWrap::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "write(Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  std::string data(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  size_t queued = 0;
  if (done_ || end_requested_ || data.empty()) {
    queued = stream_ != nullptr ? stream_->queued_bytes() : outbox_.size();
  } else if (stream_ != nullptr) {
    stream_->write(std::move(data));
    queued = stream_->queued_bytes();
  } else {
    outbox_ += data;
    queued = outbox_.size();
  }
  // The stream turns congested above the high-water mark and says on_drain once below the low
  // one: false exactly when a drain event will follow.
  return Napi::Boolean::New(env, done_ || queued <= ByteStream::kHighWater);
}

Napi::Value QuicStreamWrap::End(const Napi::CallbackInfo& info) {
  if (!done_ && !end_requested_) {
    end_requested_ = true;
    if (stream_ != nullptr) stream_->finish();
  }
  return info.Env().Undefined();
}

Napi::Value QuicStreamWrap::Reset(const Napi::CallbackInfo& info) {
  abandon();
  return info.Env().Undefined();
}

Napi::Value QuicStreamWrap::Pause(const Napi::CallbackInfo& info) {
  paused_ = true;
  if (stream_ != nullptr) stream_->pause_reading();
  return info.Env().Undefined();
}

Napi::Value QuicStreamWrap::Resume(const Napi::CallbackInfo& info) {
  paused_ = false;
  // The stream delivers what waits on a later loop turn, never inside this call.
  if (stream_ != nullptr) stream_->resume_reading();
  return info.Env().Undefined();
}

Napi::Value QuicStreamWrap::IsLive(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), live_);
}

}  // namespace alk::node

#include "node/js_call.h"

#include <algorithm>

#include "call/registry.h"
#include "node/addon.h"
#include "node/engine_host.h"
#include "node/engine_wrap.h"
#include "node/invoke.h"

namespace alk::node {

namespace {

std::string dump(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

napi_value make_string(napi_env env, const char* p, size_t n, bool ascii) {
  napi_value s = nullptr;
  if (ascii) {
    napi_create_string_latin1(env, p, n, &s);
  } else {
    napi_create_string_utf8(env, p, n, &s);
  }
  return s;
}

// The JS-side weight of one output event, for the subscription's high-water mark.
size_t output_event_bytes(const OutputPart& part) {
  return part.bytes + part.stamp_bytes + 32;
}

// An output_events batch for lib/engine.js: [payloads (strings), flags (a string: one character
// per event, its code the OutputPart flags), timestamps (strings, undefined where none; or
// undefined), bytes]. One string per event, made by V8 from the bytes directly: no JSON is written
// or parsed on the way. (A typed array for the flags would cost an ArrayBuffer per delivery.)
Napi::Value output_events_value(Napi::Env env, const Event& e) {
  const size_t n = e.parts.size();
  napi_value texts = nullptr;
  napi_create_array_with_length(env, n, &texts);
  std::string flags(n, '\0');
  napi_value stamps = nullptr;
  if (!e.stamps.empty() || std::any_of(e.parts.begin(), e.parts.end(), [](const OutputPart& p) {
        return p.flags & OutputPart::kTimestamp;
      })) {
    napi_create_array_with_length(env, n, &stamps);
  }
  size_t text_at = 0, stamp_at = 0, bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    const OutputPart& part = e.parts[i];
    napi_set_element(env, texts, static_cast<uint32_t>(i),
                     make_string(env, e.text.data() + text_at, part.bytes,
                                 (part.flags & OutputPart::kAscii) != 0));
    text_at += part.bytes;
    flags[i] = static_cast<char>(part.flags);
    if (part.flags & OutputPart::kTimestamp) {
      napi_set_element(env, stamps, static_cast<uint32_t>(i),
                       make_string(env, e.stamps.data() + stamp_at, part.stamp_bytes, false));
      stamp_at += part.stamp_bytes;
    }
    bytes += output_event_bytes(part);
  }
  Napi::Array value = Napi::Array::New(env, 4);
  value.Set(uint32_t{0}, Napi::Value(env, texts));
  value.Set(uint32_t{1}, Napi::Value(env, make_string(env, flags.data(), flags.size(), true)));
  value.Set(uint32_t{2}, stamps != nullptr ? Napi::Value(env, stamps) : env.Undefined());
  value.Set(uint32_t{3}, Napi::Number::New(env, static_cast<double>(bytes)));
  return value;
}

// A delivery of any other events: [kind, value, kind, value, …].
Napi::Value batch_value(Napi::Env env, const std::vector<Event>& events) {
  Napi::Array batch = Napi::Array::New(env, events.size() * 2);
  uint32_t i = 0;
  for (const Event& e : events) {
    Napi::Value value;
    switch (e.kind) {
      case EventKind::outputs:
      case EventKind::control:
      case EventKind::error:
        value = Napi::String::New(env, e.text);
        break;
      case EventKind::stdout_data:
      case EventKind::stderr_data:
        value = Napi::Value(env, Napi::Buffer<char>::Copy(env, e.text.data(), e.text.size()));
        break;
      case EventKind::raw_open:
        value = Napi::Boolean::New(env, e.number != 0);
        break;
      case EventKind::exit:
        value = Napi::Number::New(env, static_cast<double>(e.number));
        break;
      case EventKind::output_events:
        value = output_events_value(env, e);
        break;
      default:
        value = env.Undefined();
    }
    batch.Set(i++, Napi::Number::New(env, static_cast<int>(e.kind)));
    batch.Set(i++, value);
  }
  return batch;
}

}  // namespace

Napi::Function JsCall::Define(Napi::Env env) {
  return DefineClass(env, "Call",
                     {
                         InstanceMethod<&JsCall::Write>("write"),
                         InstanceMethod<&JsCall::EndInput>("endInput"),
                         InstanceMethod<&JsCall::Control>("control"),
                         InstanceMethod<&JsCall::Pause>("pause"),
                         InstanceMethod<&JsCall::Resume>("resume"),
                         InstanceMethod<&JsCall::Cancel>("cancel"),
                         InstanceMethod<&JsCall::IsLive>("isLive"),
                     });
}

JsCall::JsCall(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsCall>(info) {
  Napi::Env env = info.Env();
  addon_ = Addon::from(env);
  if (info.Length() < 5 || !info[0].IsObject() || !info[1].IsString() || !info[2].IsString() ||
      !info[4].IsFunction()) {
    Napi::TypeError::New(env, "Call(engine, operationId, inputJson, raw, receiver)")
        .ThrowAsJavaScriptException();
    return;
  }
  EngineWrap* engine = EngineWrap::FromObject(info[0]);
  if (engine == nullptr) {
    Napi::TypeError::New(env, "Call: not an Engine").ThrowAsJavaScriptException();
    return;
  }
  const std::string operation = info[1].As<Napi::String>().Utf8Value();
  const std::string input_text = info[2].As<Napi::String>().Utf8Value();
  const bool raw = info[3].ToBoolean().Value();

  engine_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
  receiver_ = Napi::Persistent(info[4].As<Napi::Function>());
  async_context_ =
      std::make_unique<Napi::AsyncContext>(env, "alknet.Call", info.This().As<Napi::Object>());
  live_ = true;
  Ref();
  state_ = raw ? State::preparing_raw : State::running_json;

  host_ = engine->host();
  if (host_ == nullptr || host_->closing()) {
    host_ = nullptr;
    fail(call::CallError::make(call::codes::kInternal, "the engine is closed"));
    return;
  }
  host_->add_call(this);

  nlohmann::json input = nlohmann::json::parse(input_text, nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) {
    fail(call::CallError::invalid_input("input", "not valid JSON"));
    return;
  }
  nlohmann::json payload = {
      {"operationId", operation}, {"input", std::move(input)}, {"carriage", raw ? "raw" : "json"}};
  auto request =
      call::parse_request("js-" + std::to_string(++addon_->next_call_id), payload, call::Peer{});
  if (!request) {
    fail(request.error());
    return;
  }
  const call::Registry& registry = host_->engine().registry();
  if (const call::OperationSpec* spec = registry.find(request->operation)) kind_ = spec->kind;
  auto prepared = registry.prepare(*request, *this);
  if (!prepared) {
    fail(prepared.error());
    return;
  }
  handler_ = std::move(prepared).value();
  // start() may answer at once; the answer waits in the queue for the next flush.
  call::Handler* h = handler_.get();
  h->start();
}

JsCall::~JsCall() {
  // Live objects are strongly referenced, so only released ones are finalized — except at env
  // teardown, where the cleanup hook already abandoned every call.
  if (handler_) retire_handler(/*cancel=*/true);
}

// ---- CallSink ----

void JsCall::respond(const nlohmann::json& output) {
  respond_json_text(dump(output));
}

void JsCall::respond_json_text(std::string_view output_json) {
  if (state_ != State::running_json) return;
  events_.add_output(output_json);
  if (kind_ != call::OpKind::subscription) {
    events_.add(EventKind::answered);
    terminal();
  }
  queued();
}

bool JsCall::respond_output_event(std::string_view stream, std::string_view bytes,
                                  std::string_view timestamp) {
  if (state_ != State::running_json) return true;
  events_.add_output_event(stream == "stderr", bytes, timestamp);
  if (kind_ != call::OpKind::subscription) {
    events_.add(EventKind::answered);
    terminal();
  }
  queued();
  return true;
}

void JsCall::complete() {
  if (state_ != State::running_json) return;
  events_.add(EventKind::completed);
  terminal();
  queued();
}

void JsCall::fail(const call::CallError& error) {
  if (state_ == State::done) return;
  events_.add(EventKind::error, 0, dump(error.to_payload()));
  terminal();
  queued();
}

bool JsCall::writable() const {
  const bool ok = state_ == State::done || (!js_paused_ && events_.bytes() < kHighWater);
  if (!ok) want_writable_ = true;
  return ok;
}

void JsCall::begin_raw(bool tty) {
  if (state_ != State::preparing_raw) return;
  state_ = State::running_raw;
  events_.add(EventKind::raw_open, tty ? 1 : 0);
  queued();
}

void JsCall::send_chunk(wire::ChunkType type, std::string_view bytes) {
  if (state_ != State::running_raw) return;
  switch (type) {
    case wire::ChunkType::stdout_data:
      events_.add_bytes(EventKind::stdout_data, bytes);
      break;
    case wire::ChunkType::stderr_data:
      events_.add_bytes(EventKind::stderr_data, bytes);
      break;
    case wire::ChunkType::control_out:
      events_.add(EventKind::control, 0, std::string(bytes));
      break;
    default:
      return;  // stdin and control-in do not flow to the caller
  }
  queued();
}

void JsCall::finish_raw(int exit_code) {
  if (state_ != State::running_raw) return;
  events_.add(EventKind::exit, exit_code);
  terminal();
  queued();
}

void JsCall::pause_input() {
  input_paused_ = true;
}

void JsCall::resume_input() {
  if (!input_paused_) return;
  input_paused_ = false;
  if (state_ == State::done) return;
  events_.add(EventKind::drain);
  queued();
}

// ---- delivery ----

void JsCall::queued() {
  if (live_ && addon_->flusher != nullptr) addon_->flusher->schedule(this);
}

void JsCall::deliver() {
  if (!live_ || addon_->closing) return;
  Napi::Env env = Env();
  if (!events_.empty()) {
    Napi::HandleScope scope(env);
    std::vector<Event> events = events_.take();
    if (events.size() == 1 && events[0].kind == EventKind::output_events &&
        events[0].parts.size() == 1) {
      // A follow delivers one line at a time: passing it as arguments spares the three arrays
      // a batch needs (a quarter of what each line allocated on the JS heap).
      const Event& e = events[0];
      const OutputPart& part = e.parts[0];
      const napi_value stamp = (part.flags & OutputPart::kTimestamp) != 0
                                   ? make_string(env, e.stamps.data(), part.stamp_bytes, false)
                                   : env.Undefined();
      call_receiver(
          env, {Napi::Number::New(env, kOneOutputEvent),
                make_string(env, e.text.data(), part.bytes, (part.flags & OutputPart::kAscii) != 0),
                Napi::Number::New(env, part.flags), stamp,
                Napi::Number::New(env, static_cast<double>(output_event_bytes(part)))});
    } else {
      call_receiver(env, {batch_value(env, events)});
    }
  }
  after_delivery();
}

void JsCall::call_receiver(Napi::Env env, std::initializer_list<napi_value> args) {
  Napi::Object self = Value();
  if (state_ == State::done) {
    // The terminal event is in this delivery: release first, so what JS sees once the call has
    // ended (engine stats, a new call) no longer counts it.
    Napi::FunctionReference receiver = std::move(receiver_);
    std::unique_ptr<Napi::AsyncContext> context = std::move(async_context_);
    release();
    invoke(env, *context, self, receiver.Value(), args);
    return;
  }
  // The receiver may cancel the call (a `break` out of `for await`), which releases it: the
  // context it runs in is kept out of reach until the callback has returned.
  Napi::Value receiver = receiver_.Value();
  std::unique_ptr<Napi::AsyncContext> context = std::move(async_context_);
  invoke(env, *context, self, receiver, args);
  if (live_) async_context_ = std::move(context);
}

void JsCall::after_delivery() {
  // The receiver may have cancelled the call, paused it, or resumed it.
  if (!live_) return;
  if (state_ == State::done) {
    if (events_.empty()) {
      release();
    } else {
      queued();
    }
    return;
  }
  if (want_writable_ && handler_ && writable()) {
    want_writable_ = false;
    handler_->on_writable();
  }
}

// ---- endings ----

void JsCall::terminal() {
  state_ = State::done;
  retire_handler(/*cancel=*/false);
}

void JsCall::retire_handler(bool cancel) {
  if (!handler_) return;
  if (cancel) handler_->cancel();
  // The handler may be on the stack (it answered from its own callback): destroy it on a fresh
  // loop turn, as the stream session does.
  std::shared_ptr<call::Handler> retired(handler_.release());
  if (host_ != nullptr) host_->engine().deferrer().post([retired] {});
}

void JsCall::abandon() {
  if (state_ != State::done) {
    state_ = State::done;
    retire_handler(/*cancel=*/true);
  }
  release();
}

void JsCall::release() {
  if (!live_) return;
  live_ = false;
  if (addon_->flusher != nullptr) addon_->flusher->cancel(this);
  if (host_ != nullptr) {
    host_->remove_call(this);
    host_ = nullptr;
  }
  receiver_.Reset();
  engine_ref_.Reset();
  async_context_.reset();
  Unref();
}

// ---- JS methods ----

Napi::Value JsCall::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "write(Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (state_ == State::running_raw && handler_ && !stdin_ended_) {
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    if (bytes.ByteLength() > 0) {
      handler_->on_stdin(
          std::string_view(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength()));
    }
  }
  return Napi::Boolean::New(env, !input_paused_ || state_ == State::done);
}

Napi::Value JsCall::EndInput(const Napi::CallbackInfo& info) {
  if (state_ == State::running_raw && handler_ && !stdin_ended_) {
    stdin_ended_ = true;
    handler_->on_stdin_end();
  }
  return info.Env().Undefined();
}

Napi::Value JsCall::Control(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "control(jsonText)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  nlohmann::json msg =
      nlohmann::json::parse(info[0].As<Napi::String>().Utf8Value(), nullptr, false);
  if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
    Napi::TypeError::New(env, "a control message is an object with a string \"type\"")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (msg["type"] == "eof") return EndInput(info);
  if (state_ == State::running_raw && handler_) handler_->on_control(msg);
  return env.Undefined();
}

Napi::Value JsCall::Pause(const Napi::CallbackInfo& info) {
  js_paused_ = true;
  return info.Env().Undefined();
}

Napi::Value JsCall::Resume(const Napi::CallbackInfo& info) {
  js_paused_ = false;
  // on_writable runs from the flush, never from inside this JS→native call.
  if (want_writable_) queued();
  return info.Env().Undefined();
}

Napi::Value JsCall::Cancel(const Napi::CallbackInfo& info) {
  abandon();
  return info.Env().Undefined();
}

Napi::Value JsCall::IsLive(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), live_);
}

}  // namespace alk::node

// One call of the in-process engine, as seen from JavaScript: the CallSink its handler answers
// through, and the JS object (native.Call) lib/engine.js drives it with.
//
// Delivery: the sink only queues events (EventQueue) and schedules itself on the env's Flusher;
// the flush calls the JS receiver once with every event queued since the last one, inside a
// callback scope (MakeCallback with the call's async context), so promise reactions run. Native
// code therefore never calls into JS from inside a JS→native call.
//
// Lifetime: while the call is live (not terminal, or terminal but not yet delivered) the JS
// object is strongly referenced (ObjectWrap::Ref) together with its receiver and its engine's JS
// object, so GC cannot finalize a wrapper whose native call still runs. Once the terminal event is
// delivered, or the call is cancelled, everything is released and GC takes its course.
#pragma once

#include <napi.h>

#include <memory>
#include <optional>

#include "call/operation.h"
#include "node/event_queue.h"
#include "node/flusher.h"

namespace alk::node {

class EngineHost;
struct Addon;

class JsCall : public Napi::ObjectWrap<JsCall>, public call::CallSink, public Deliverable {
 public:
  /// JS-side bytes of undelivered events above which writable() turns false.
  static constexpr size_t kHighWater = size_t{1} << 20;
  /// The first receiver argument of a one-output-event delivery; never an EventKind.
  static constexpr int kOneOutputEvent = 11;

  static Napi::Function Define(Napi::Env env);

  /// new Call(engine, operationId, inputJsonText, raw, receiver): validates and starts the call.
  /// Errors of the call itself (unknown operation, bad input, …) arrive as an error event, never
  /// as an exception. The receiver gets one array [kind, value, kind, value, …] per delivery (see
  /// EventKind for kinds and values) — except a delivery of exactly one output event (a follow's
  /// line), which comes as the arguments (kOneOutputEvent, payload, flags, timestamp|undefined,
  /// bytes), with no array at all.
  explicit JsCall(const Napi::CallbackInfo& info);
  ~JsCall() override;

  /// Ends the call without telling JS: cancels the handler (releasing its docker resources) and
  /// drops the references that kept the JS side alive. Used by cancel() and engine shutdown.
  void abandon();

  // CallSink
  void respond(const nlohmann::json& output) override;
  void respond_json_text(std::string_view output_json) override;
  bool respond_output_event(std::string_view stream, std::string_view bytes,
                            std::string_view timestamp) override;
  void complete() override;
  void fail(const call::CallError& error) override;
  bool writable() const override;
  void begin_raw(bool tty) override;
  void send_chunk(wire::ChunkType type, std::string_view bytes) override;
  void finish_raw(int exit_code) override;
  void pause_input() override;
  void resume_input() override;

  // Deliverable
  void deliver() override;

 private:
  enum class State {
    running_json,   // answers are outputs
    preparing_raw,  // raw requested; docker side being set up
    running_raw,    // chunks both ways
    done,           // terminal event queued (or abandoned)
  };

  // JS methods.
  Napi::Value Write(const Napi::CallbackInfo& info);  // (Buffer) → bool: false = wait for drain
  Napi::Value EndInput(const Napi::CallbackInfo& info);  // () stdin EOF
  Napi::Value Control(const Napi::CallbackInfo& info);   // (jsonText) resize, signal, eof
  Napi::Value Pause(const Napi::CallbackInfo& info);     // () JS queue above its high-water mark
  Napi::Value Resume(const Napi::CallbackInfo& info);    // () JS queue drained
  Napi::Value Cancel(const Napi::CallbackInfo& info);    // () caller went away
  Napi::Value IsLive(const Napi::CallbackInfo& info);    // () → bool

  void queued();    // schedules a flush
  void terminal();  // state → done, handler retired
  void retire_handler(bool cancel);
  void release();  // drops every strong reference; no more deliveries
  // Calls the receiver with `args`, releasing the call first when this delivery is its last.
  void call_receiver(Napi::Env env, std::initializer_list<napi_value> args);
  void after_delivery();  // the release or on_writable() a delivery leaves to do

  Addon* addon_ = nullptr;
  EngineHost* host_ = nullptr;  // valid while live
  Napi::ObjectReference engine_ref_;
  Napi::FunctionReference receiver_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  std::unique_ptr<call::Handler> handler_;
  EventQueue events_;
  State state_ = State::running_json;
  call::OpKind kind_ = call::OpKind::query;
  bool live_ = false;                   // strong references held
  bool js_paused_ = false;              // the JS queue is above its high-water mark
  mutable bool want_writable_ = false;  // the handler saw writable() == false
  bool input_paused_ = false;           // the handler asked to stop stdin
  bool stdin_ended_ = false;
};

}  // namespace alk::node

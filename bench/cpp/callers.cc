#include "callers.h"

#include <deque>

#include "transport/byte_stream.h"

namespace alk::bench {

namespace {

using call::CallError;

// One in-process call: the CallSink of the handler and the ClientCall of the benchmark.
class InProcessCall final : public client::ClientCall {
  // The handler's sink; forwards to the call (ClientCall and CallSink both have writable()).
  class Sink final : public call::CallSink {
   public:
    explicit Sink(InProcessCall& c) : c_(c) {}
    void respond(const nlohmann::json& output) override { c_.respond(output); }
    void respond_json_text(std::string_view output_json) override {
      c_.respond_json_text(output_json);
    }
    void complete() override { c_.complete(); }
    void fail(const CallError& error) override { c_.fail(error); }
    bool writable() const override { return c_.output_writable(); }
    void begin_raw(bool tty) override { c_.begin_raw(tty); }
    void send_chunk(wire::ChunkType type, std::string_view bytes) override {
      c_.send_chunk(type, bytes);
    }
    void finish_raw(int exit_code) override { c_.finish_raw(exit_code); }
    void pause_input() override { c_.pause_input(); }
    void resume_input() override { c_.resume_input(); }

   private:
    InProcessCall& c_;
  };

 public:
  InProcessCall(ops::Engine& engine, client::CallEvents events)
      : engine_(engine), events_(std::move(events)) {}

  ~InProcessCall() override {
    *alive_ = false;
    if (handler_ && !ended_) handler_->cancel();
    retire();
  }

  void start(call::CallRequest request) {
    const auto* spec = engine_.registry().find(request.operation);
    if (spec) kind_ = spec->kind;
    auto prepared = engine_.registry().prepare(request, sink_);
    if (!prepared) {
      // Answered on a later turn, as a remote refusal would be.
      CallError error = prepared.error();
      engine_.deferrer().post([this, alive = alive_, error] {
        if (*alive) end(error);
      });
      return;
    }
    handler_ = std::move(prepared).value();
    engine_.deferrer().post([this, alive = alive_] {
      if (*alive && handler_ && !ended_) handler_->start();
    });
  }

  // ---- ClientCall ----
  void send_stdin(std::string_view bytes) override {
    if (ended_ || bytes.empty()) return;
    stdin_.emplace_back(bytes);
    stdin_bytes_ += bytes.size();
    if (stdin_bytes_ >= transport::ByteStream::kHighWater) congested_ = true;
    schedule_stdin();
  }
  void end_stdin() override {
    stdin_end_ = true;
    schedule_stdin();
  }
  void send_control(const nlohmann::json& message) override {
    if (handler_ && !ended_) handler_->on_control(message);
  }
  bool writable() const override { return stdin_bytes_ < transport::ByteStream::kHighWater; }
  void pause() override { paused_ = true; }
  void resume() override {
    if (!paused_) return;
    paused_ = false;
    engine_.deferrer().post([this, alive = alive_] {
      if (*alive && handler_ && !ended_) handler_->on_writable();
    });
  }
  void cancel() override {
    if (ended_) return;
    ended_ = true;
    if (handler_) handler_->cancel();
    retire();
  }

  // ---- what the handler answers (through Sink) ----
  void respond(const nlohmann::json& output) {
    if (ended_ || raw_) return;
    if (events_.on_output_text) return deliver_text(output.dump());
    deliver(output);
  }
  void respond_json_text(std::string_view output_json) {
    if (ended_ || raw_) return;
    // As from a CallClient: the text when the consumer takes text, else a parsed value.
    if (events_.on_output_text) return deliver_text(output_json);
    deliver(nlohmann::json::parse(output_json, nullptr, false));
  }
  void complete() {
    if (!ended_) end(std::nullopt);
  }
  void fail(const CallError& error) {
    if (!ended_) end(error);
  }
  bool output_writable() const { return !paused_; }
  void begin_raw(bool tty) {
    if (ended_ || raw_) return;
    raw_ = true;
    auto alive = alive_;
    if (events_.on_raw_open) events_.on_raw_open(tty);
    if (!*alive) return;
    schedule_stdin();  // stdin sent before the switch goes now
  }
  void send_chunk(wire::ChunkType type, std::string_view bytes) {
    if (ended_ || !raw_) return;
    if (events_.on_chunk) events_.on_chunk(type, bytes);
  }
  void finish_raw(int exit_code) {
    if (ended_ || !raw_) return;
    auto alive = alive_;
    if (events_.on_exit) events_.on_exit(exit_code);
    if (!*alive) return;
    end(std::nullopt);
  }
  void pause_input() { input_paused_ = true; }
  void resume_input() {
    if (!input_paused_) return;
    input_paused_ = false;
    schedule_stdin();
  }

 private:
  void deliver(const nlohmann::json& output) {
    auto alive = alive_;
    if (events_.on_output) events_.on_output(output);
    if (!*alive) return;
    if (kind_ != call::OpKind::subscription && !ended_) end(std::nullopt);
  }
  void deliver_text(std::string_view output_json) {
    auto alive = alive_;
    events_.on_output_text(output_json);
    if (!*alive) return;
    if (kind_ != call::OpKind::subscription && !ended_) end(std::nullopt);
  }

  void end(std::optional<CallError> error) {
    if (ended_) return;
    ended_ = true;
    retire();
    if (events_.on_end) events_.on_end(std::move(error));
  }

  // The handler is destroyed on a later turn: it may be on the stack right now.
  void retire() {
    if (!handler_) return;
    std::shared_ptr<call::Handler> h(std::move(handler_));
    engine_.deferrer().post([h] {});
  }

  void schedule_stdin() {
    if (stdin_scheduled_ || ended_) return;
    stdin_scheduled_ = true;
    engine_.deferrer().post([this, alive = alive_] {
      if (!*alive) return;
      stdin_scheduled_ = false;
      flush_stdin();
    });
  }

  // Hands queued stdin to the handler until it pauses input.
  void flush_stdin() {
    if (!raw_ || ended_ || !handler_) return;
    auto alive = alive_;
    while (!stdin_.empty() && !input_paused_) {
      std::string chunk = std::move(stdin_.front());
      stdin_.pop_front();
      stdin_bytes_ -= chunk.size();
      handler_->on_stdin(chunk);
      if (!*alive || ended_ || !handler_) return;
    }
    if (stdin_.empty() && stdin_end_ && !stdin_end_sent_ && !input_paused_) {
      stdin_end_sent_ = true;
      handler_->on_stdin_end();
      if (!*alive) return;
    }
    if (congested_ && stdin_bytes_ <= transport::ByteStream::kLowWater) {
      congested_ = false;
      if (events_.on_drain) events_.on_drain();
    }
  }

  ops::Engine& engine_;
  client::CallEvents events_;
  Sink sink_{*this};
  std::unique_ptr<call::Handler> handler_;
  call::OpKind kind_ = call::OpKind::query;
  std::deque<std::string> stdin_;
  size_t stdin_bytes_ = 0;
  bool stdin_end_ = false;
  bool stdin_end_sent_ = false;
  bool stdin_scheduled_ = false;
  bool congested_ = false;  // writable() went false; on_drain is owed
  bool input_paused_ = false;
  bool paused_ = false;
  bool raw_ = false;
  bool ended_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<client::ClientCall> InProcessCaller::call(std::string operation,
                                                          nlohmann::json input,
                                                          client::CallEvents events,
                                                          client::CallOptions options) {
  call::CallRequest request;
  request.id = options.request_id.empty() ? "bench" : options.request_id;
  request.operation = std::move(operation);
  request.input = std::move(input);
  request.carriage = options.carriage;
  auto c = std::make_unique<InProcessCall>(engine_, std::move(events));
  c->start(std::move(request));
  return c;
}

}  // namespace alk::bench

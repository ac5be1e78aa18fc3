#include "ops/json_lines_op.h"

#include <memory>

#include "ops/declared_op.h"
#include "wire/line_splitter.h"

namespace alk::ops {

using call::CallError;

namespace {

class JsonLinesHandler : public call::Handler {
 public:
  JsonLinesHandler(Services& services, std::shared_ptr<const JsonLinesOp> op,
                   call::CallRequest request, call::CallSink& sink)
      : services_(services), op_(std::move(op)), request_(std::move(request)), sink_(sink) {}

  void start() override {
    auto built = op_->request(request_);
    if (!built) {
      sink_.fail(built.error());
      return;
    }
    docker::BodyHandlers handlers;
    handlers.on_data = [this](std::string_view bytes) { on_data(bytes); };
    handlers.on_end = [this](std::optional<docker::Error> error) { on_end(std::move(error)); };
    stream_ = services_.docker->stream(std::move(built).value(), std::move(handlers));
  }

  void on_writable() override {
    if (done_) return;
    pump();
    if (!done_ && !ended_ && paused_ && sink_.writable()) {
      paused_ = false;
      stream_->resume();
    }
  }

  void cancel() override {
    done_ = true;
    stream_.reset();
  }

 private:
  void on_data(std::string_view bytes) {
    if (done_) return;
    if (!lines_.push(bytes)) {
      stop(CallError::make(call::codes::kDockerError, "docker sent a line longer than 16 MiB"));
      return;
    }
    pump();
    if (!done_ && !sink_.writable() && !paused_) {
      paused_ = true;
      stream_->pause();
    }
  }

  void on_end(std::optional<docker::Error> error) {
    if (done_) return;
    ended_ = true;
    if (error) {
      // Lines already received are dropped: the call fails either way.
      stop(to_call_error(*error, op_->subject));
      return;
    }
    pump();
  }

  // Emits buffered lines while the sink takes them; at the end of the body, completes once all
  // are out.
  void pump() {
    std::string_view line;
    while (!done_ && sink_.writable() && lines_.next(line)) emit(line);
    if (done_ || !ended_ || !sink_.writable()) return;
    if (lines_.take_last(line)) emit(line);
    if (done_) return;
    done_ = true;
    sink_.complete();
  }

  void emit(std::string_view line) {
    // Parsed rather than passed through: a torn or foreign line must not reach the peer as
    // broken JSON.
    nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    if (value.is_discarded()) {
      stop(CallError::make(call::codes::kDockerError, "docker sent a line that is not JSON"));
      return;
    }
    sink_.respond(value);
  }

  void stop(const CallError& error) {
    done_ = true;
    sink_.fail(error);
    // Destroying the stream inside its own callback is allowed by the client.
    stream_.reset();
  }

  Services& services_;
  std::shared_ptr<const JsonLinesOp> op_;
  call::CallRequest request_;
  call::CallSink& sink_;
  std::unique_ptr<docker::BodyStream> stream_;
  wire::LineSplitter lines_;
  bool paused_ = false;
  bool ended_ = false;
  bool done_ = false;
};

}  // namespace

call::OperationSpec make_json_lines_op(Services& services, JsonLinesOp op) {
  return declared_op_spec<JsonLinesHandler>(services, std::move(op), call::OpKind::subscription);
}

}  // namespace alk::ops

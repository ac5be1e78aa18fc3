#include "client/call_client.h"

#include "transport/uv_byte_stream.h"
#include "wire/envelope.h"
#include "wire/frame_decoder.h"

namespace alk::client {

using call::CallError;

Result<Address, std::string> parse_address(std::string_view text) {
  Address a;
  constexpr std::string_view kUnix = "unix://";
  if (text.substr(0, kUnix.size()) == kUnix) text.remove_prefix(kUnix.size());
  if (text.empty() || text.front() != '/') {
    return unexpected("unsupported address (expected unix:///absolute/path): " + std::string(text));
  }
  a.path = text;
  return a;
}

namespace {

class UnixClientCall final : public ClientCall, public transport::StreamReceiver {
 public:
  UnixClientCall(CallEvents events, CallOptions options)
      : events_(std::move(events)), options_(std::move(options)) {}

  ~UnixClientCall() override {
    *alive_ = false;
    drop_stream();
  }

  void connect(uv_loop_t* loop, const std::string& path, std::string request_frame) {
    outbox_ = std::move(request_frame);
    transport::connect_unix(loop, path, [this, alive = alive_](transport::UvByteStream* s, int status) {
      if (!*alive) {
        if (s) s->reset();
        return;
      }
      if (!s) {
        end(CallError::make(call::codes::kInternal,
                            std::string("cannot connect to the server: ") + uv_strerror(status), true));
        return;
      }
      stream_ = s;
      stream_->set_receiver(this);
      stream_->write(std::move(outbox_));
      outbox_.clear();
      if (paused_) stream_->pause_reading();
      stream_->start();
    });
  }

  // ClientCall
  void send_stdin(std::string_view bytes) override {
    std::string out;
    wire::append_chunks(out, wire::ChunkType::stdin_data, bytes);
    send(std::move(out));
  }
  void end_stdin() override {
    std::string out;
    wire::append_chunk(out, wire::ChunkType::control_in, R"({"type":"eof"})");
    send(std::move(out));
  }
  void send_control(const nlohmann::json& message) override {
    std::string out;
    wire::append_chunk(out, wire::ChunkType::control_in, message.dump());
    send(std::move(out));
  }
  bool writable() const override {
    const size_t queued = stream_ ? stream_->queued_bytes() : outbox_.size();
    return queued < transport::ByteStream::kHighWater;
  }
  void pause() override {
    paused_ = true;
    if (stream_) stream_->pause_reading();
  }
  void resume() override {
    paused_ = false;
    if (stream_) stream_->resume_reading();
  }
  void cancel() override {
    ended_ = true;
    drop_stream();
  }

  // StreamReceiver
  void on_bytes(std::string_view bytes) override {
    if (ended_) return;
    if (raw_) {
      chunks_.push(bytes);
      read_chunks();
    } else {
      frames_.push(bytes);
      read_frames();
    }
  }
  void on_fin() override {
    if (ended_) return;
    if (outputs_ > 0 && !options_.kind) {
      end(std::nullopt);
    } else {
      end(CallError::make(call::codes::kInternal, "connection closed before the call ended", true));
    }
  }
  void on_reset() override {
    if (!ended_) end(CallError::make(call::codes::kInternal, "connection reset", true));
  }
  void on_drain() override {
    if (events_.on_drain) events_.on_drain();
  }
  void on_closed() override {
    stream_ = nullptr;
    if (!ended_) end(CallError::make(call::codes::kInternal, "connection closed", true));
  }

 private:
  void send(std::string bytes) {
    if (stream_) {
      stream_->write(std::move(bytes));
    } else {
      outbox_ += bytes;
    }
  }

  void drop_stream() {
    if (!stream_) return;
    stream_->set_receiver(nullptr);
    stream_->reset();
    stream_ = nullptr;
  }

  void read_frames() {
    auto alive = alive_;
    while (!ended_ && !raw_) {
      std::optional<wire::Envelope> env = frames_.next();
      if (!env) {
        if (frames_.error() != wire::FrameError::none) {
          end(CallError::internal(std::string("malformed frame from the server: ") +
                                  wire::describe(frames_.error())));
        }
        return;
      }
      handle_envelope(*env);
      if (!*alive) return;
    }
    if (raw_ && !ended_) {
      chunks_.push(frames_.take_remaining());
      read_chunks();
    }
  }

  void handle_envelope(const wire::Envelope& env) {
    if (env.type == wire::kResponded) {
      const nlohmann::json& output = env.payload.contains("output") ? env.payload["output"] : env.payload;
      if (options_.carriage == call::Carriage::raw && output.is_object() &&
          output.value("carriage", "") == "raw") {
        raw_ = true;
        if (events_.on_raw_open) events_.on_raw_open(output.value("tty", false));
        return;
      }
      ++outputs_;
      auto alive = alive_;
      if (events_.on_output) events_.on_output(output);
      if (!*alive) return;
      if (options_.kind && *options_.kind != call::OpKind::subscription) end(std::nullopt);
    } else if (env.type == wire::kCompleted) {
      end(std::nullopt);
    } else if (env.type == wire::kError) {
      end(CallError::from_payload(env.payload));
    }
  }

  void read_chunks() {
    auto alive = alive_;
    while (!ended_) {
      std::optional<wire::Chunk> chunk = chunks_.next();
      if (!chunk) {
        if (chunks_.error() != wire::ChunkError::none) {
          end(CallError::internal(std::string("malformed chunk from the server: ") +
                                  wire::describe(chunks_.error())));
        }
        return;
      }
      if (chunk->type == wire::ChunkType::stdout_data || chunk->type == wire::ChunkType::stderr_data) {
        if (events_.on_chunk) events_.on_chunk(chunk->type, chunk->payload);
      } else if (chunk->type == wire::ChunkType::control_out) {
        nlohmann::json msg = nlohmann::json::parse(chunk->payload, nullptr, false);
        if (msg.is_object() && msg.value("type", "") == "exit") {
          const int code = msg.value("code", -1);
          if (events_.on_exit) events_.on_exit(code);
          if (!*alive) return;
          end(std::nullopt);
          return;
        }
        if (events_.on_control) events_.on_control(msg);
      }
      if (!*alive) return;
    }
  }

  void end(std::optional<CallError> error) {
    if (ended_) return;
    ended_ = true;
    // Our side is done too; the server already finished its side (or the stream broke).
    if (stream_) stream_->finish();
    if (events_.on_end) events_.on_end(std::move(error));
  }

  CallEvents events_;
  CallOptions options_;
  transport::UvByteStream* stream_ = nullptr;  // self-owned by libuv; cleared in on_closed
  std::string outbox_;                          // bytes queued before the connection exists
  wire::FrameDecoder frames_;
  wire::ChunkDecoder chunks_;
  bool raw_ = false;
  bool ended_ = false;
  bool paused_ = false;
  size_t outputs_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

CallClient::CallClient(uv_loop_t* loop, Address address) : loop_(loop), address_(std::move(address)) {}

std::unique_ptr<ClientCall> CallClient::call(std::string operation, nlohmann::json input,
                                             CallEvents events, CallOptions options) {
  const std::string id =
      options.request_id.empty() ? "c" + std::to_string(next_id_++) : options.request_id;
  nlohmann::json payload = {{"operationId", std::move(operation)}, {"input", std::move(input)}};
  if (options.carriage == call::Carriage::raw) payload["carriage"] = "raw";
  if (!options.auth_token.empty()) payload["auth_token"] = options.auth_token;
  std::string frame;
  wire::append_frame(frame, wire::Envelope{std::string(wire::kRequested), id, std::move(payload)});
  auto c = std::make_unique<UnixClientCall>(std::move(events), std::move(options));
  c->connect(loop_, address_.path, std::move(frame));
  return c;
}

}  // namespace alk::client

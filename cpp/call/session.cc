#include "call/session.h"

#include "wire/json_text.h"

namespace alk::call {

namespace {

std::string dump_json(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

CallSession::CallSession(transport::ByteStream& stream, SessionEnv env)
    : stream_(stream), env_(std::move(env)), started_(std::chrono::steady_clock::now()) {}

CallSession::~CallSession() {
  *alive_ = false;
  if (handler_) retire_handler(/*cancel=*/true);
  if (!recorded_ && !operation_.empty()) record("cancelled", "stream closed");
}

// ---- bytes from the peer ----

size_t CallSession::on_bytes(std::string_view bytes) {
  switch (state_) {
    case State::awaiting_request:
    case State::running_json:
      frames_.push(bytes);
      handle_frames();
      return bytes.size();
    case State::preparing_raw:
      // Stdin may follow the request at once: it waits in the transport, which stops reading (so
      // a peer that never waits grows no buffer here), until begin_raw() or the call's end
      // resumes it.
      stream_.pause_reading();
      return 0;
    case State::running_raw:
      return handle_chunks(bytes);
    case State::done:
      break;
  }
  return bytes.size();
}

void CallSession::handle_frames() {
  while (state_ == State::awaiting_request || state_ == State::running_json) {
    std::optional<wire::Envelope> env = frames_.next();
    if (!env) {
      if (frames_.error() != wire::FrameError::none) {
        abandon("bad-stream",
                std::string(wire::describe(frames_.error())) + ": " + frames_.error_detail());
      }
      return;
    }
    if (env->type == wire::kRequested) {
      if (state_ == State::awaiting_request) {
        handle_request(std::move(*env));
        continue;
      }
      // One call per stream: a second request gets its own error and changes nothing else.
      CallError e = CallError::make(codes::kInvalidInput,
                                    "one call per stream: request " + env->id + " ignored");
      std::string frame;
      wire::append_frame_raw(frame, wire::kError, env->id, dump_json(e.to_payload()));
      stream_.write(std::move(frame));
    } else if (env->type == wire::kAborted && state_ == State::running_json) {
      stream_.finish();
      retire_handler(/*cancel=*/true);
      state_ = State::done;
      record("cancelled", "call.aborted");
    }
    // Anything else (responses sent to a server, unknown types) is ignored, as alknet does.
  }
}

void CallSession::handle_request(wire::Envelope&& env) {
  request_id_ = env.id;
  auto parsed = parse_request(env.id, env.payload, env_.peer);
  if (!parsed) {
    state_ = State::running_json;
    fail(parsed.error());
    return;
  }
  CallRequest request = std::move(parsed).value();
  operation_ = request.operation;
  if (!request.auth_token.empty() && env_.resolve_token) {
    request.peer = env_.resolve_token(request.auth_token, env_.peer);
  }
  call_peer_ = request.peer.id;
  if (auto c = request.input.find("containerId");
      request.input.is_object() && c != request.input.end() && c->is_string()) {
    resource_ = "container/" + c->get<std::string>();
  }
  if (const OperationSpec* spec = env_.registry->find(request.operation)) kind_ = spec->kind;
  const bool raw = request.carriage == Carriage::raw;
  state_ = raw ? State::preparing_raw : State::running_json;
  if (raw) {
    // Bytes that followed the request frame are already chunks.
    chunks_.push(frames_.take_remaining());
  }
  auto prepared = env_.registry->prepare(request, *this);
  if (!prepared) {
    state_ = State::running_json;  // errors before the switch are frames
    fail(prepared.error());
    return;
  }
  handler_ = std::move(prepared).value();
  // start() may answer synchronously (and thereby retire the handler); keep a local pointer.
  Handler* h = handler_.get();
  h->start();
}

size_t CallSession::handle_chunks(std::string_view input) {
  if (state_ != State::running_raw) return input.size();
  // Paused, the transport keeps the bytes until resume_input(). While feeding, this is a resume
  // from inside a handler (input is empty) and the feed in progress goes on by itself.
  if (input_paused_ || feeding_) return 0;
  feeding_ = true;
  // Stdin payloads go to the handler piece by piece as they arrive: a 64 KiB chunk spread over
  // several reads is never gathered into a copy first.
  const size_t took = chunks_.feed(
      input, [](wire::ChunkType type) { return type == wire::ChunkType::stdin_data; },
      [this](wire::ChunkType type, std::string_view payload, bool /*last*/) {
        handle_chunk(type, payload);
        return state_ == State::running_raw && !input_paused_;
      });
  feeding_ = false;
  if (state_ != State::running_raw) return input.size();
  if (input_paused_) return took;
  if (chunks_.error() != wire::ChunkError::none) {
    abandon("bad-stream", wire::describe(chunks_.error()));
    return input.size();
  }
  if (peer_fin_ && !chunks_.partial()) stdin_end();
  return took;
}

void CallSession::handle_chunk(wire::ChunkType type, std::string_view payload) {
  switch (type) {
    case wire::ChunkType::stdin_data:
      // Streamed: only a zero-length chunk comes as an empty piece, and it means end of stdin.
      if (payload.empty()) {
        stdin_end();
      } else if (!stdin_ended_ && handler_) {
        handler_->on_stdin(payload);
      }
      return;
    case wire::ChunkType::control_in: {
      nlohmann::json msg = nlohmann::json::parse(payload, nullptr, false);
      if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
        abandon("bad-stream", "control chunk is not a JSON object with a \"type\"");
        return;
      }
      if (msg["type"] == "eof") {
        stdin_end();
      } else if (handler_) {
        handler_->on_control(msg);
      }
      return;
    }
    default:
      abandon("bad-stream", "the client sent a server-to-client chunk type");
  }
}

void CallSession::stdin_end() {
  if (stdin_ended_) return;
  stdin_ended_ = true;
  if (handler_) handler_->on_stdin_end();
}

void CallSession::on_fin() {
  peer_fin_ = true;
  switch (state_) {
    case State::awaiting_request:
      // The peer ended without a complete request (nothing, or a frame cut short).
      state_ = State::done;
      stream_.finish();
      break;
    case State::running_raw:
      handle_chunks();
      break;
    default:
      break;  // a half-closed JSON call still gets its answer
  }
}

void CallSession::on_reset() {
  if (state_ == State::done) return;
  state_ = State::done;
  retire_handler(/*cancel=*/true);
  record("cancelled", "stream reset");
}

void CallSession::on_drain() {
  if (handler_ && (state_ == State::running_json || state_ == State::running_raw)) {
    handler_->on_writable();
  }
}

void CallSession::on_closed() {
  if (state_ != State::done) on_reset();
}

// ---- answers from the handler ----

void CallSession::write_frame(std::string_view type, std::string_view payload_json) {
  frame_.clear();
  if (!wire::append_frame_raw(frame_, type, request_id_, payload_json)) {
    frame_too_large();
    return;
  }
  send_frame();
}

void CallSession::frame_too_large() {
  // An answer above 64 MiB cannot be framed; report that instead of dropping it silently.
  CallError e = CallError::internal("answer exceeds the 64 MiB frame limit");
  frame_.clear();
  wire::append_frame_raw(frame_, wire::kError, request_id_, dump_json(e.to_payload()));
  send_frame();
  terminal(std::string(codes::kInternal), e.message);
}

void CallSession::send_frame() {
  stream_.append(frame_);
  // The buffer is reused for every answer; a large one is not kept for the rest of the call.
  if (frame_.capacity() > kKeepFrameCapacity) std::string().swap(frame_);
}

void CallSession::respond(const nlohmann::json& output) {
  respond_json_text(dump_json(output));
}

void CallSession::respond_json_text(std::string_view output_json) {
  if (state_ != State::running_json) return;
  frame_.clear();
  if (wire::append_output_frame(frame_, request_id_, output_json)) {
    send_frame();
  } else {
    frame_too_large();
  }
  if (kind_ != OpKind::subscription && state_ == State::running_json) terminal("ok", "");
}

void CallSession::complete() {
  if (state_ != State::running_json) return;
  write_frame(wire::kCompleted, "{}");
  terminal("ok", "");
}

void CallSession::fail(const CallError& error) {
  if (state_ == State::running_raw) {
    // After the switch only chunks flow: report the error as a control message, then exit -1.
    nlohmann::json msg = {{"type", "error"}, {"code", error.code}, {"message", error.message}};
    send_chunk(wire::ChunkType::control_out, dump_json(msg));
    std::string out;
    wire::append_chunk(out, wire::ChunkType::control_out, R"({"type":"exit","code":-1})");
    stream_.write(std::move(out));
    terminal(error.code, error.message);
    return;
  }
  if (state_ != State::running_json && state_ != State::preparing_raw) return;
  state_ = State::running_json;
  write_frame(wire::kError, dump_json(error.to_payload()));
  terminal(error.code, error.message);
}

bool CallSession::writable() const {
  // Not writable exactly when the stream counts as congested (queued bytes *above* the high-water
  // mark), the state for which it promises on_drain: a handler that paused at exactly kHighWater
  // would wait for a drain that never comes (seen as a stalled log follow over QUIC).
  return stream_.queued_bytes() <= transport::ByteStream::kHighWater;
}

void CallSession::begin_raw(bool tty) {
  if (state_ != State::preparing_raw) return;
  nlohmann::json out = {{"carriage", "raw"}, {"tty", tty}};
  write_frame(wire::kResponded, dump_json({{"output", out}}));
  state_ = State::running_raw;
  stream_.resume_reading();
  // Chunks that arrived while the docker side was being set up are handled on a fresh turn, so
  // the handler is not re-entered from inside its own begin_raw() call.
  env_.deferrer->post([this, alive = alive_] {
    if (*alive) handle_chunks();
  });
}

void CallSession::send_chunk(wire::ChunkType type, std::string_view bytes) {
  if (state_ != State::running_raw) return;
  // Header and payload go to the stream as they are: the payload is copied once, by the stream.
  wire::split_chunks(type, bytes, [this](std::string_view header, std::string_view part) {
    stream_.append(header, part);
  });
}

void CallSession::finish_raw(int exit_code) {
  if (state_ != State::running_raw) return;
  std::string out;
  wire::append_chunk(out, wire::ChunkType::control_out,
                     R"({"type":"exit","code":)" + std::to_string(exit_code) + "}");
  stream_.write(std::move(out));
  terminal("ok", "exit " + std::to_string(exit_code));
}

void CallSession::pause_input() {
  input_paused_ = true;
  stream_.pause_reading();
}

void CallSession::resume_input() {
  if (!input_paused_) return;
  input_paused_ = false;
  stream_.resume_reading();
  env_.deferrer->post([this, alive = alive_] {
    if (*alive) handle_chunks();
  });
}

// ---- endings ----

void CallSession::terminal(std::string outcome, std::string detail) {
  state_ = State::done;
  stream_.finish();
  // Input may be held back (stdin that came while the raw carriage was being set up, or paused
  // by the handler): read on, discarding, so the peer's end of stream is seen and the transport
  // can release the stream.
  input_paused_ = false;
  stream_.resume_reading();
  retire_handler(/*cancel=*/false);
  record(std::move(outcome), std::move(detail));
}

void CallSession::abandon(std::string outcome, std::string detail) {
  const bool was_done = state_ == State::done;
  state_ = State::done;
  stream_.reset();
  retire_handler(/*cancel=*/true);
  if (!was_done) record(std::move(outcome), std::move(detail));
}

void CallSession::retire_handler(bool cancel) {
  if (!handler_) return;
  if (cancel) handler_->cancel();
  // The handler may be on the stack (it answered from its own callback): destroy it later.
  std::shared_ptr<Handler> retired(handler_.release());
  env_.deferrer->post([retired] {});
}

void CallSession::record(std::string outcome, std::string detail) {
  if (recorded_) return;
  recorded_ = true;
  if (!env_.on_call_end) return;
  CallRecord r;
  r.peer = call_peer_ ? *call_peer_ : env_.peer.id;
  r.transport = stream_.describe_peer();
  r.request_id = request_id_;
  r.operation = operation_.empty() ? "-" : operation_;
  r.resource = resource_;
  r.outcome = std::move(outcome);
  r.detail = std::move(detail);
  r.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
          .count();
  env_.on_call_end(r);
}

}  // namespace alk::call

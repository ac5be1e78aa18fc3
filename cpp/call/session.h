// The dispatcher of one stream: reads call.requested, runs the handler, writes its answers as
// frames (or chunks, on the raw carriage) and enforces the protocol's ordering rules.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "call/registry.h"
#include "transport/byte_stream.h"
#include "util/deferrer.h"
#include "wire/chunk_codec.h"
#include "wire/frame_decoder.h"

namespace alk::call {

/// What a finished call looked like, for log and audit lines.
struct CallRecord {
  std::string peer;       ///< peer id
  std::string transport;  ///< ByteStream::describe_peer(): "unix", "quic addr=… cert=…"
  std::string request_id;
  std::string operation;
  std::string resource;  ///< "container/<id>" when the input names a container, else ""
  std::string outcome;   ///< "ok", "cancelled", an error code, or "bad-stream"
  std::string detail;    ///< the error message, if any
  double duration_ms = 0;
};

/// Resolves a per-request auth_token for the connection's peer; returns the peer to use.
using TokenResolver = std::function<Peer(const std::string& token, const Peer& connection_peer)>;

/// What a session needs from the server around it. Everything referenced must outlive the session.
struct SessionEnv {
  const Registry* registry = nullptr;
  Deferrer* deferrer = nullptr;                        ///< retires handlers on a fresh loop turn
  Peer peer;                                           ///< the connection's identity
  TokenResolver resolve_token;                         ///< optional
  std::function<void(const CallRecord&)> on_call_end;  ///< optional, once per call
};

/// Serves exactly one call on `stream`. Owned by the transport that owns the stream; destroyed
/// after StreamReceiver::on_closed (or with the transport). Loop-thread only.
class CallSession : public transport::StreamReceiver, public CallSink {
 public:
  CallSession(transport::ByteStream& stream, SessionEnv env);
  ~CallSession() override;
  CallSession(const CallSession&) = delete;
  CallSession& operator=(const CallSession&) = delete;

  // StreamReceiver
  size_t on_bytes(std::string_view bytes) override;
  void on_fin() override;
  void on_reset() override;
  void on_drain() override;
  void on_closed() override;

  // CallSink
  void respond(const nlohmann::json& output) override;
  void respond_json_text(std::string_view output_json) override;
  void complete() override;
  void fail(const CallError& error) override;
  bool writable() const override;
  void begin_raw(bool tty) override;
  void send_chunk(wire::ChunkType type, std::string_view bytes) override;
  void finish_raw(int exit_code) override;
  void pause_input() override;
  void resume_input() override;

 private:
  enum class State {
    awaiting_request,  // no call.requested yet
    running_json,      // handler answering with frames
    preparing_raw,     // raw requested; handler setting up the docker side
    running_raw,       // chunks both ways
    done,              // terminal answer sent (or stream broken)
  };

  void handle_frames();
  void handle_request(wire::Envelope&& env);
  // Decodes buffered chunks, then `input` (in place, stdin streamed), until input is paused;
  // returns the bytes of `input` taken.
  size_t handle_chunks(std::string_view input = {});
  void handle_chunk(wire::ChunkType type, std::string_view payload);
  void stdin_end();
  void abandon(std::string outcome, std::string detail);  // reset + cancel: the stream is unusable
  void terminal(std::string outcome, std::string detail);
  void write_frame(std::string_view type, std::string_view payload_json);
  void frame_too_large();  // answers INTERNAL instead of a frame above the limit; terminal
  void send_frame();       // queues frame_ on the stream
  void retire_handler(bool cancel);
  void record(std::string outcome, std::string detail);

  transport::ByteStream& stream_;
  SessionEnv env_;
  State state_ = State::awaiting_request;
  OpKind kind_ = OpKind::query;
  std::string request_id_;
  std::string operation_;
  std::optional<std::string> call_peer_;  // the request's peer id (after auth_token), once known
  std::string resource_;
  std::unique_ptr<Handler> handler_;
  wire::FrameDecoder frames_;
  wire::ChunkDecoder chunks_;
  std::string frame_;  // the answer being encoded; reused (see send_frame)
  static constexpr size_t kKeepFrameCapacity = size_t{64} << 10;
  bool peer_fin_ = false;
  bool stdin_ended_ = false;
  bool input_paused_ = false;
  bool feeding_ = false;  // inside chunks_.feed(): a resume from a handler must not re-enter it
  bool want_drain_ = false;
  bool recorded_ = false;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards deferred work
};

}  // namespace alk::call

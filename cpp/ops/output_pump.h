// The shared output path of logs, run, exec and attach: turns a docker body — Docker's
// multiplexed framing or raw TTY bytes — into output events (or raw chunks) on a CallSink, with
// backpressure from the sink to the docker socket.
//
// Use (any handler that reads container output):
//
//   OutputPump pump(sink, {.tty = is_tty});               // decide tty from data: see
//   stream_is_tty stream = docker.stream(req, {.on_head = …, .on_data = [&](auto b) {
//                                  if (!pump.feed(b)) fail(pump.error()); },
//                                .on_end = [&](auto err) { if (!pump.finish()) …; }});
//   pump.set_source(stream.get());                         // lets the pump pause/resume it
//   void on_writable() override { pump.on_writable(); }   // forward Handler::on_writable
//
// Events: {"stream":"stdout"|"stderr","text":…} (or "base64" when the bytes are not UTF-8) plus
// "timestamp" when `timestamps` is set. Multiplexed: one event per docker frame (a frame split
// across reads is joined first; a frame longer than max_event_bytes goes out in parts). TTY: one
// event per read (with timestamps: one per line, since the timestamps prefix lines). Multi-byte
// UTF-8 characters split between events are kept whole (the tail waits for the next event of its
// stream), so text stays text; no byte is ever dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "call/operation.h"
#include "docker/client.h"
#include "docker/mux_decoder.h"
#include "ops/output_events.h"

namespace alk::ops {

/// Decides TTY (raw bytes) vs multiplexed framing of an attach/logs/exec-start response from data,
/// never by guessing: on API ≥ 1.42 from the response's Content-Type
/// (`application/vnd.docker.raw-stream` / `application/vnd.docker.multiplexed-stream`); on 1.41,
/// whose daemons label every such stream raw-stream, `tty_from_config` is used — the container's
/// `Config.Tty` (inspect, or the create body the caller sent) or the exec's `ProcessConfig.tty`.
bool stream_is_tty(const docker::Client& client, const docker::Response& head,
                   bool tty_from_config);

/// JSON Schema of one output event: {"stream": "stdout"|"stderr", "text"|"base64", "timestamp"?}.
nlohmann::json output_event_schema();

struct OutputPumpOptions {
  bool tty = false;         ///< raw TTY bytes (true) or Docker's multiplexed framing (false)
  bool timestamps = false;  ///< split the RFC 3339 prefix docker adds (logs with timestamps=1)
  /// Raw carriage: send stdout/stderr chunks (sink.send_chunk) instead of JSON events; no joining,
  /// no timestamp split.
  bool raw_chunks = false;
  /// A frame (or a timestamped TTY line) longer than this is emitted in parts.
  size_t max_event_bytes = size_t{1} << 20;
};

/// Loop-thread only. The pump never outlives the sink it writes to (it is a member of the handler
/// that owns the call). It emits only from feed() and finish(), never from on_writable().
class OutputPump {
 public:
  OutputPump(call::CallSink& sink, OutputPumpOptions options);
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  /// Switches the framing before the first feed() (once the response head told which it is).
  void set_tty(bool tty) { options_.tty = tty; }

  /// The docker body the bytes come from, paused while the sink is not writable and resumed by
  /// on_writable(). Not owned; pass nullptr before destroying the source while the pump lives on.
  void set_source(docker::BodyStream* source);

  /// Decodes `bytes` and emits what is complete; then pauses the source if the sink is congested.
  /// Returns false on a framing error or a daemon-side error frame (stream 3): error() says which;
  /// the stream must not be fed again.
  bool feed(std::string_view bytes);

  /// The end of the body: emits whatever was held back (a partial frame, an incomplete UTF-8
  /// tail). Returns false when the body ended inside a frame (error() says so) — the bytes that did
  /// arrive are still emitted.
  bool finish();

  /// Forward of Handler::on_writable(): resumes the source if the pump paused it.
  void on_writable();

  /// True while the pump holds the source paused for backpressure.
  bool paused() const { return paused_; }
  /// Why feed() or finish() returned false.
  const std::string& error() const { return error_; }
  /// Payload bytes emitted so far (all streams).
  uint64_t bytes_emitted() const { return bytes_emitted_; }

 private:
  // Per output stream: the UTF-8 tail held back between events of that stream.
  struct StreamState {
    const char* name = nullptr;
    wire::ChunkType chunk_type = wire::ChunkType::stdout_data;
    Utf8Joiner joiner;
  };

  StreamState& state_of(docker::MuxStream s);
  void on_piece(const docker::MuxPiece& piece);
  void feed_tty(std::string_view bytes);
  void feed_tty_lines(std::string_view bytes);
  // Emits one event of `s`; `first_part` is true at the start of a frame/line (timestamp split).
  void emit(StreamState& s, std::string_view bytes, bool first_part);
  void emit_text(StreamState& s, std::string_view text, std::string_view timestamp);
  void apply_backpressure();

  call::CallSink& sink_;
  OutputPumpOptions options_;
  docker::BodyStream* source_ = nullptr;
  bool paused_ = false;
  bool failed_ = false;
  std::string error_;

  docker::MuxDecoder decoder_;
  StreamState out_{"stdout", wire::ChunkType::stdout_data, {}};
  StreamState err_{"stderr", wire::ChunkType::stderr_data, {}};
  std::string pending_;                // a frame (or TTY line) split across reads, joined
  StreamState* pending_of_ = nullptr;  // the stream the pending bytes belong to
  bool pending_started_ = false;       // part of the pending frame/line was already emitted
  std::string system_error_;           // payload of a daemon-side error frame (stream 3)
  std::string event_;                  // reused buffer of the event JSON text
  uint64_t bytes_emitted_ = 0;
};

}  // namespace alk::ops

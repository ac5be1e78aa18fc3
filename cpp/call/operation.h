// What an operation is to the call layer: its spec, the handler that runs one call, and the sink
// the handler answers through.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "call/call_error.h"
#include "wire/chunk_codec.h"

namespace alk::call {

enum class OpKind { query, mutation, subscription };
enum class Carriage { json, raw };

/// "query", "mutation", "subscription".
const char* describe(OpKind k);

/// Who is calling. The in-process engine and the local unix socket run as the local operator.
struct Peer {
  std::string id = "local";
  std::vector<std::string> scopes;
  bool is_operator = true;

  bool has_scope(std::string_view scope) const;
};

/// A validated call.requested.
struct CallRequest {
  std::string id;         ///< the request id, echoed in every answer frame
  std::string operation;  ///< name without leading slash
  nlohmann::json input;   ///< validated against the operation's input schema
  Carriage carriage = Carriage::json;
  std::string auth_token;  ///< per-request credential, resolved by the identity layer
  Peer peer;
};

/// Where a handler sends its answers. Implemented by the stream session (frames on a transport)
/// and by the Node addon (JS events). Loop-thread only. The sink enforces the ordering rules: for a
/// query or mutation the first respond() or fail() is terminal; for a subscription respond()* then
/// complete() or fail(). Calls after the terminal one are ignored.
class CallSink {
 public:
  virtual ~CallSink() = default;

  /// call.responded {"output": output}.
  virtual void respond(const nlohmann::json& output) = 0;
  /// call.responded with `output_json` already serialized (one JSON value): the hot path for
  /// log lines and exec output.
  virtual void respond_json_text(std::string_view output_json) = 0;
  /// The hottest path, one output event of logs, exec or run given as its parts: `bytes` of
  /// `stream` ("stdout" or "stderr"), with `timestamp` (empty: none). It stands for the event
  /// {"stream", "text" — or "base64" when the bytes are not UTF-8 —, "timestamp"?}. A sink that
  /// delivers events in a form of its own (the Node addon) takes it and returns true; the default
  /// returns false, and the caller then encodes the JSON and calls respond_json_text().
  virtual bool respond_output_event(std::string_view stream, std::string_view bytes,
                                    std::string_view timestamp) {
    return false;
  }
  /// call.completed (subscriptions).
  virtual void complete() = 0;
  /// call.error; terminal.
  virtual void fail(const CallError& error) = 0;

  /// Backpressure: false while the peer is behind. A handler that sees false pauses its source
  /// and resumes in Handler::on_writable().
  virtual bool writable() const = 0;

  /// Raw carriage: sends the switch frame {"carriage":"raw","tty":tty}; afterwards only chunks.
  virtual void begin_raw(bool tty) = 0;
  /// Raw carriage: one stdout/stderr chunk (split as needed to respect the chunk limit).
  virtual void send_chunk(wire::ChunkType type, std::string_view bytes) = 0;
  /// Raw carriage: the exit control chunk {"type":"exit","code":code} (-1 when unknown), then the
  /// end of the server's side. Terminal.
  virtual void finish_raw(int exit_code) = 0;

  /// Input backpressure for the raw carriage: stop delivering stdin until resume_input().
  virtual void pause_input() = 0;
  virtual void resume_input() = 0;
};

/// Runs one call. Created by the operation's factory after validation, then start()ed. Lives until
/// the sink reached its terminal answer or the call was cancelled; the owner destroys it later on
/// a fresh loop turn, never from inside one of its own callbacks. The destructor releases every
/// docker-side resource and must not touch the sink.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void start() = 0;
  /// The sink became writable again after writable() returned false.
  virtual void on_writable() {}
  /// Raw carriage input: stdin bytes, the end of stdin (empty chunk, eof control or FIN), and
  /// control messages other than eof (resize, signal; already parsed, any "type").
  virtual void on_stdin(std::string_view bytes) {}
  virtual void on_stdin_end() {}
  virtual void on_control(const nlohmann::json& message) {}
  /// The caller went away (reset, disconnect, call.aborted). Stop, send nothing more, release
  /// what the call holds (run kills the container it started).
  virtual void cancel() {}
};

using HandlerFactory =
    std::function<std::unique_ptr<Handler>(const CallRequest& request, CallSink& sink)>;

/// An operation's declaration.
struct OperationSpec {
  std::string name;  ///< "docker/container/logs"
  OpKind kind = OpKind::query;
  std::string description;
  nlohmann::json input_schema = nlohmann::json::object();
  nlohmann::json output_schema = nlohmann::json::object();
  bool raw_carriage = false;  ///< accepts "carriage": "raw"
  bool raw_only = false;      ///< only works on the raw carriage (attach)
  std::string scope;          ///< scope a non-operator peer needs; empty = anonymous
  HandlerFactory factory;
};

}  // namespace alk::call

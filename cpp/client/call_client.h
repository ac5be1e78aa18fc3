// The client side of the call protocol: open a call on its own stream, receive its outputs, drive
// a raw session. Used by `alknet-docker call` and by C++ programs (examples/cpp).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "call/call_error.h"
#include "call/operation.h"
#include "util/result.h"
#include "wire/chunk_codec.h"

namespace alk::transport::quic {
class QuicClient;
}  // namespace alk::transport::quic

namespace alk::client {

/// Where a server listens: "unix:///run/alknet.sock" or "quic://host:port".
struct Address {
  enum class Kind { unix_socket, quic };
  Kind kind = Kind::unix_socket;
  std::string path;   ///< unix: the socket path
  std::string host;   ///< quic: a name or a numeric address (IPv6 without brackets)
  uint16_t port = 0;  ///< quic
  std::string describe() const;
};

/// Parses "unix:///path" (or a bare absolute path) and "quic://host:port" ("quic://[::1]:4433").
/// Returns a message on anything else.
Result<Address, std::string> parse_address(std::string_view text);

/// TLS for quic:// addresses (PEM files). The server certificate must chain to `ca` (the system
/// trust store when empty) and match `server_name` (the address' host when empty); `cert` + `key`
/// is the client certificate the server identifies us by.
struct ClientTlsOptions {
  std::string ca;
  std::string cert;
  std::string key;
  std::string server_name;
};

/// Transport tuning for quic:// addresses.
struct ClientQuicOptions {
  uint64_t idle_timeout_ms = 30000;  ///< an idle connection closes (the next call reconnects)
  uint64_t keep_alive_ms = 10000;    ///< PINGs while calls are open, so quiet calls stay up
  uint64_t handshake_timeout_ms = 10000;
  std::string alpn;  ///< tests only: offer this ALPN instead of alknet/call
};

/// What happens on one call. Every callback is optional and runs on the loop thread.
struct CallEvents {
  /// Each call.responded output (not the raw switch frame).
  std::function<void(const nlohmann::json& output)> on_output;
  /// Each call.responded output as compact JSON text, exactly what nlohmann's dump() prints for it
  /// (no whitespace, keys sorted, invalid UTF-8 replaced); when set, on_output is not called. An
  /// output already in that form on the wire — every output of our own servers — is passed on
  /// from the received bytes without being parsed (see wire::canonical_responded_output), which
  /// is what makes printing a log stream cheap; others are parsed and dumped. The view is valid
  /// during the call only. Not used for the raw carriage's switch frame.
  std::function<void(std::string_view output_json)> on_output_text;
  /// Raw carriage: the server switched; chunks follow.
  std::function<void(bool tty)> on_raw_open;
  /// Raw carriage: stdout/stderr bytes (type is stdout_data or stderr_data), in order, as they
  /// arrive: a chunk may come in several calls (never an empty one, except for a zero-length
  /// chunk). The view is valid during the call only.
  std::function<void(wire::ChunkType type, std::string_view bytes)> on_chunk;
  /// Raw carriage: control messages other than exit (e.g. {"type":"error",…}).
  std::function<void(const nlohmann::json& message)> on_control;
  /// Raw carriage: the exit code (-1 when unknown). on_end follows.
  std::function<void(int exit_code)> on_exit;
  /// The write queue drained after being congested (see ClientCall::writable).
  std::function<void()> on_drain;
  /// Exactly once, last: nullopt on success (call.completed; or a query's single answer; or a raw
  /// session's exit), else the call.error, or INTERNAL (retryable) when the connection failed or
  /// closed before a terminal answer.
  std::function<void(std::optional<call::CallError> error)> on_end;
};

struct CallOptions {
  call::Carriage carriage = call::Carriage::json;
  /// A subscription must end with call.completed; a query ends with its single answer. When
  /// unset, a clean end of stream after at least one output counts as success.
  std::optional<call::OpKind> kind;
  std::string auth_token;  ///< sent as payload.auth_token when non-empty
  std::string request_id;  ///< generated when empty
};

/// One call in progress. Destroying it cancels the call (the stream is reset; the server stops the
/// handler) and no callback runs afterwards.
class ClientCall {
 public:
  virtual ~ClientCall() = default;
  /// Raw carriage: stdin bytes (queued until the server switched to raw).
  virtual void send_stdin(std::string_view bytes) = 0;
  /// Raw carriage: the end of stdin (an eof control chunk); output keeps flowing.
  virtual void end_stdin() = 0;
  /// Raw carriage: a control message ({"type":"resize","cols":80,"rows":24}, signal, …).
  virtual void send_control(const nlohmann::json& message) = 0;
  /// False while more than ~1 MiB is queued for the server; on_drain tells when to go on.
  virtual bool writable() const = 0;
  /// Stops/restarts reading the server's bytes (consumer backpressure).
  virtual void pause() = 0;
  virtual void resume() = 0;
  /// Cancels now; on_end is not called.
  virtual void cancel() = 0;
};

/// Opens calls to one server. Loop-thread only; calls may outlive the client, not the loop.
/// Over QUIC every call is one bidirectional stream of a connection shared by the client's calls;
/// a connection that failed or ended is replaced by a new one at the next call. Destroying the
/// client closes its connection once its last call is gone (and frees it on a later loop turn:
/// run the loop before closing it). An idle QUIC connection does not keep the loop alive: 50 ms
/// after its last call ends (time for the ACKs it owes the server) its handles let go of it.
class CallClient {
 public:
  CallClient(uv_loop_t* loop, Address address, ClientTlsOptions tls = {},
             ClientQuicOptions quic = {});
  ~CallClient();
  CallClient(const CallClient&) = delete;
  CallClient& operator=(const CallClient&) = delete;

  /// Starts `operation` with `input`. The connection is made asynchronously; a failure to connect
  /// ends in on_end with a retryable INTERNAL error.
  std::unique_ptr<ClientCall> call(std::string operation, nlohmann::json input, CallEvents events,
                                   CallOptions options = {});

  /// QUIC: whether a connection is open or being made (false before the first call and after
  /// one failed or ended). Always false for unix addresses.
  bool connected() const;

 private:
  std::shared_ptr<transport::quic::QuicClient> quic_connection();

  uv_loop_t* loop_;
  Address address_;
  ClientTlsOptions tls_;
  ClientQuicOptions quic_options_;
  std::shared_ptr<transport::quic::QuicClient> quic_;
  uint64_t next_id_ = 1;
};

}  // namespace alk::client

// native.QuicStream: one bidirectional stream of a QuicConnection, as seen from JavaScript.
// lib/quic-client.js makes it with `new native.QuicStream(connection, receiver)` and runs one
// call over it.
//
// Delivery: the transport's callbacks (StreamReceiver) only queue events and schedule the
// wrapper on the env's Flusher; the flush calls the receiver once with everything queued since
// the last one — [kind, value, kind, value, …] — inside a callback scope, so promise reactions
// run. No JS→native method calls back into JS.
//
// Lifetime: from construction until its `close` event is delivered (or reset()), the JS object
// is strongly referenced together with its receiver, so GC cannot finalize a wrapper whose
// native stream is live. Afterwards everything is released.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "node/flusher.h"
#include "transport/byte_stream.h"
#include "transport/quic/quic_client.h"

namespace alk::node {

class QuicHost;
struct Addon;

/// What a delivery carries. The numbers are part of the contract with lib/quic-client.js.
enum class QuicStreamEvent : uint8_t {
  open = 0,   ///< the stream exists (queued writes went out)
  data = 1,   ///< Buffer: bytes from the server, in order
  end = 2,    ///< the server's FIN
  error = 3,  ///< {message, retryable, forbidden}: the stream or its connection broke
  drain = 4,  ///< write() returned false and the queue fell to the low-water mark
  close = 5,  ///< last event: the stream is released
};

class QuicStreamWrap : public Napi::ObjectWrap<QuicStreamWrap>,
                       public transport::StreamReceiver,
                       public Deliverable {
 public:
  static Napi::Function Define(Napi::Env env);

  /// new QuicStream(connection, receiver): opens a stream as soon as the connection allows
  /// (writes and end() wait until then). Failures arrive as error + close events.
  explicit QuicStreamWrap(const Napi::CallbackInfo& info);
  ~QuicStreamWrap() override;

  /// The connection was closed (QuicHost::close): a stream still waiting to open fails with
  /// `failure`. Open streams already heard it from the transport.
  void connection_closed(const transport::quic::QuicFailure& failure);
  /// Ends without telling JS: resets the stream (or forgets the pending open) and drops every
  /// reference. Used by reset() and env teardown.
  void abandon();

  // StreamReceiver
  size_t on_bytes(std::string_view bytes) override;
  void on_fin() override;
  void on_reset() override;
  void on_drain() override;
  void on_closed() override;

  // Deliverable
  void deliver() override;

 private:
  struct Event {
    QuicStreamEvent kind;
    std::string bytes;  // data: the bytes; error: the message
    bool retryable = false;
    bool forbidden = false;
  };

  // JS methods.
  Napi::Value Write(const Napi::CallbackInfo& info);  // (Uint8Array) → bool: false = wait for drain
  Napi::Value End(const Napi::CallbackInfo& info);    // () FIN after the queued bytes
  Napi::Value Reset(const Napi::CallbackInfo& info);  // () abort both ways; no more events
  Napi::Value Pause(
      const Napi::CallbackInfo& info);  // () stop reading (flow control stops the peer)
  Napi::Value Resume(const Napi::CallbackInfo& info);  // ()
  Napi::Value IsLive(const Napi::CallbackInfo& info);  // () → bool

  void opened(transport::quic::QuicStream* stream);
  void fail(std::string message, bool retryable, bool forbidden);
  void push(QuicStreamEvent kind, std::string bytes = {});
  void release();  // drops every strong reference; no more deliveries

  Addon* addon_ = nullptr;
  std::shared_ptr<QuicHost> host_;  // held while live
  Napi::FunctionReference receiver_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
  transport::quic::QuicStream* stream_ = nullptr;  // owned by the link; cleared in on_closed
  uint64_t ticket_ = 0;                            // a pending open
  std::vector<Event> events_;
  std::string outbox_;  // bytes written before the stream opened
  bool end_requested_ = false;
  bool paused_ = false;
  bool live_ = false;  // strong references held
  bool done_ = false;  // the close event is queued (or abandoned)
};

}  // namespace alk::node

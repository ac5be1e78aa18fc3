// native.QuicConnection: the JS handle of a QuicHost (one QUIC connection to an
// `alknet-docker serve`). lib/quic-client.js makes one per connection attempt and opens each
// call's stream on it with `new native.QuicStream(connection, receiver)` (quic_stream_wrap.h).
#pragma once

#include <napi.h>

#include <memory>

namespace alk::node {

class QuicHost;

class QuicConnectionWrap : public Napi::ObjectWrap<QuicConnectionWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  /// new QuicConnection({host, port, ca?, cert?, key?, serverName?, idleTimeoutMs?,
  /// keepAliveMs?, handshakeTimeoutMs?, alpn?}): starts connecting at once. ca/cert/key are PEM
  /// file paths (an unreadable one fails the streams with a non-retryable error); a bad host or
  /// port throws a TypeError.
  explicit QuicConnectionWrap(const Napi::CallbackInfo& info);
  /// Collected without close(): no stream can be live on it here (each holds the host), so the
  /// connection just closes.
  ~QuicConnectionWrap() override;

  /// The host of `value`, or nullptr when it is not a native.QuicConnection (checked by tag).
  static std::shared_ptr<QuicHost> HostOf(Napi::Value value);

 private:
  Napi::Value Usable(const Napi::CallbackInfo& info);       // () → bool
  Napi::Value Established(const Napi::CallbackInfo& info);  // () → bool
  Napi::Value Close(const Napi::CallbackInfo& info);  // (callback?) → false when already closed

  std::shared_ptr<QuicHost> host_;
};

}  // namespace alk::node

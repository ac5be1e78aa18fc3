#include "node/quic_connection_wrap.h"

#include <uv.h>

#include <optional>

#include "node/addon.h"
#include "node/invoke.h"
#include "node/js_options.h"
#include "node/quic_host.h"

namespace alk::node {

namespace {

// Marks native.QuicConnection objects, so a foreign object passed as one is refused.
constexpr napi_type_tag kConnectionTag = {0x3f0d6b2a9c41e875ULL, 0xb8e27a5d1c93f046ULL};

}  // namespace

Napi::Function QuicConnectionWrap::Define(Napi::Env env) {
  return DefineClass(env, "QuicConnection",
                     {
                         InstanceMethod<&QuicConnectionWrap::Usable>("usable"),
                         InstanceMethod<&QuicConnectionWrap::Established>("established"),
                         InstanceMethod<&QuicConnectionWrap::Close>("close"),
                     });
}

QuicConnectionWrap::QuicConnectionWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<QuicConnectionWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "QuicConnection({host, port, …})").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object options = info[0].As<Napi::Object>();
  transport::quic::QuicClientConfig config;
  config.host = string_option(options, "host");
  Napi::Value port = options.Get("port");
  const double p = port.IsNumber() ? port.As<Napi::Number>().DoubleValue() : 0;
  if (config.host.empty() || !(p >= 1 && p <= 65535) ||
      p != static_cast<double>(static_cast<int>(p))) {
    Napi::TypeError::New(env, "QuicConnection: host must be a non-empty string and port 1-65535")
        .ThrowAsJavaScriptException();
    return;
  }
  config.port = static_cast<uint16_t>(p);
  config.tls.ca_file = string_option(options, "ca");
  config.tls.cert_file = string_option(options, "cert");
  config.tls.key_file = string_option(options, "key");
  config.tls.server_name = string_option(options, "serverName");
  if (std::string alpn = string_option(options, "alpn"); !alpn.empty()) config.tls.alpn = alpn;
  const auto idle = uint_option(options, "idleTimeoutMs", config.quic.idle_timeout_ms);
  const auto keep_alive = uint_option(options, "keepAliveMs", config.quic.keep_alive_ms);
  const auto handshake =
      uint_option(options, "handshakeTimeoutMs", config.quic.handshake_timeout_ms);
  if (!idle || !keep_alive || !handshake) {
    Napi::TypeError::New(env,
                         "QuicConnection: idleTimeoutMs, keepAliveMs and handshakeTimeoutMs must "
                         "be non-negative integers")
        .ThrowAsJavaScriptException();
    return;
  }
  config.quic.idle_timeout_ms = *idle;
  config.quic.keep_alive_ms = *keep_alive;
  config.quic.handshake_timeout_ms = *handshake;
  config.quic.max_streams_bidi = 0;  // the server opens no streams to us

  uv_loop_t* loop = Addon::loop_for_new(env);
  if (loop == nullptr) return;
  napi_type_tag_object(env, info.This(), &kConnectionTag);
  host_ = std::make_shared<QuicHost>(*Addon::from(env), loop, std::move(config));
}

QuicConnectionWrap::~QuicConnectionWrap() {
  if (host_) host_->close(nullptr);
}

std::shared_ptr<QuicHost> QuicConnectionWrap::HostOf(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(value.Env(), value, &kConnectionTag, &tagged) != napi_ok ||
      !tagged) {
    return nullptr;
  }
  QuicConnectionWrap* wrap = Unwrap(value.As<Napi::Object>());
  return wrap != nullptr ? wrap->host_ : nullptr;
}

Napi::Value QuicConnectionWrap::Usable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), host_ && host_->usable());
}

Napi::Value QuicConnectionWrap::Established(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), host_ && host_->established());
}

Napi::Value QuicConnectionWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!host_) return Napi::Boolean::New(env, false);
  const bool closing = host_->close(js_completion(info, 0, "alknet.QuicConnection.close"));
  return Napi::Boolean::New(env, closing);
}

}  // namespace alk::node

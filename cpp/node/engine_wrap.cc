#include "node/engine_wrap.h"

#include <memory>

#include "docker/endpoint.h"
#include "node/addon.h"
#include "node/engine_host.h"
#include "node/invoke.h"
#include "node/js_options.h"

namespace alk::node {

namespace {

// Marks native.Engine objects, so a foreign object passed as an engine is refused.
constexpr napi_type_tag kEngineTag = {0x6a1c2f0e5b7d4e21ULL, 0x9e3b8c4d2a1f6e57ULL};

}  // namespace

Napi::Function EngineWrap::Define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {
                         InstanceMethod<&EngineWrap::Stats>("stats"),
                         InstanceMethod<&EngineWrap::Close>("close"),
                         InstanceMethod<&EngineWrap::Describe>("describe"),
                     });
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  Napi::Env env = info.Env();
  Napi::Object options =
      info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  const std::string host = string_option(options, "host");
  auto endpoint = host.empty()
                      ? Result<docker::Endpoint, std::string>(docker::Endpoint{})
                      : docker::parse_docker_host(host, string_option(options, "tlsVerify"),
                                                  string_option(options, "certPath"));
  if (!endpoint) {
    Napi::TypeError::New(env, "docker host: " + endpoint.error()).ThrowAsJavaScriptException();
    return;
  }
  ops::EngineOptions engine_options;
  engine_options.endpoint = std::move(endpoint).value();
  engine_options.docker.api_version = string_option(options, "apiVersion");
  const auto connect_timeout =
      uint_option(options, "connectTimeoutMs", engine_options.docker.connect_timeout_ms);
  if (!connect_timeout) {
    Napi::TypeError::New(env, "Engine: connectTimeoutMs must be a non-negative integer (0: none)")
        .ThrowAsJavaScriptException();
    return;
  }
  engine_options.docker.connect_timeout_ms = *connect_timeout;
  if (std::string prefix = string_option(options, "labelPrefix"); !prefix.empty()) {
    engine_options.label_prefix = std::move(prefix);
  }
  uv_loop_t* loop = Addon::loop_for_new(env);
  if (loop == nullptr) return;
  napi_type_tag_object(env, info.This(), &kEngineTag);
  host_ = new EngineHost(*Addon::from(env), loop, std::move(engine_options));
  host_->set_wrap(this);
}

EngineWrap::~EngineWrap() {
  if (host_ == nullptr) return;
  // Collected without close(): no call can be live (each holds a reference to this object), so
  // the engine only has idle connections to close.
  host_->set_wrap(nullptr);
  host_->shutdown(nullptr);
  host_ = nullptr;
}

EngineWrap* EngineWrap::FromObject(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(value.Env(), value, &kEngineTag, &tagged) != napi_ok || !tagged) {
    return nullptr;
  }
  return Unwrap(value.As<Napi::Object>());
}

Napi::Value EngineWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (host_ == nullptr || host_->closing()) return env.Null();
  docker::ClientStats s = host_->engine().docker().stats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("idle", Napi::Number::New(env, static_cast<double>(s.idle)));
  out.Set("busy", Napi::Number::New(env, static_cast<double>(s.busy)));
  out.Set("hijacked", Napi::Number::New(env, static_cast<double>(s.hijacked)));
  out.Set("calls", Napi::Number::New(env, static_cast<double>(host_->live_calls())));
  return out;
}

Napi::Value EngineWrap::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (host_ == nullptr) return env.Null();
  return Napi::String::New(env, host_->engine().docker().endpoint().describe());
}

Napi::Value EngineWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (host_ == nullptr || host_->closing()) return Napi::Boolean::New(env, false);
  host_->shutdown(js_completion(info, 0, "alknet.Engine.close"));
  return Napi::Boolean::New(env, true);
}

}  // namespace alk::node

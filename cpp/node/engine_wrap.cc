#include "node/engine_wrap.h"

#include <memory>

#include "docker/endpoint.h"
#include "node/addon.h"
#include "node/engine_host.h"
#include "node/invoke.h"

namespace alk::node {

namespace {

// Marks native.Engine objects, so a foreign object passed as an engine is refused.
constexpr napi_type_tag kEngineTag = {0x6a1c2f0e5b7d4e21ULL, 0x9e3b8c4d2a1f6e57ULL};

std::string string_option(const Napi::Object& options, const char* name) {
  Napi::Value v = options.Get(name);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

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
  if (Napi::Value t = options.Get("connectTimeoutMs"); t.IsNumber()) {
    engine_options.docker.connect_timeout_ms = t.As<Napi::Number>().Int64Value();
  }
  if (std::string prefix = string_option(options, "labelPrefix"); !prefix.empty()) {
    engine_options.label_prefix = std::move(prefix);
  }
  Addon* addon = Addon::from(env);
  if (addon->closing) {
    Napi::Error::New(env, "the environment is shutting down").ThrowAsJavaScriptException();
    return;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
    return;
  }
  napi_type_tag_object(env, info.This(), &kEngineTag);
  host_ = new EngineHost(*addon, loop, std::move(engine_options));
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
  struct Pending {
    Napi::FunctionReference callback;
    std::optional<Napi::AsyncContext> context;
    Addon* addon;
  };
  auto pending = std::make_shared<Pending>();
  pending->addon = Addon::from(env);
  if (info.Length() > 0 && info[0].IsFunction()) {
    pending->callback = Napi::Persistent(info[0].As<Napi::Function>());
    pending->context.emplace(env, "alknet.Engine.close");
  }
  host_->shutdown([pending, env] {
    // At env teardown nothing may run JS; the references die with the env.
    if (pending->callback.IsEmpty() || pending->addon->closing) return;
    Napi::HandleScope scope(env);
    invoke(env, *pending->context, env.Global(), pending->callback.Value(), {});
    pending->callback.Reset();
    pending->context.reset();
  });
  return Napi::Boolean::New(env, true);
}

}  // namespace alk::node

// native.Engine: the JS handle of an EngineHost. Created by lib/engine.js; calls are started with
// `new native.Call(engine, …)` (see js_call.h).
#pragma once

#include <napi.h>

namespace alk::node {

class EngineHost;

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  /// new Engine({host?, tlsVerify?, certPath?, apiVersion?, labelPrefix?, connectTimeoutMs?}).
  /// `host` is a DOCKER_HOST value (lib/ passes process.env.DOCKER_HOST by default; empty means
  /// the local socket); a malformed one throws a TypeError naming the fault.
  explicit EngineWrap(const Napi::CallbackInfo& info);
  ~EngineWrap() override;

  /// The wrapper of `value`, or nullptr when it is not a native.Engine (checked by type tag).
  static EngineWrap* FromObject(Napi::Value value);

  /// The host, or nullptr once it shut down.
  EngineHost* host() const { return host_; }
  /// Called by the host right before it frees itself.
  void host_gone() { host_ = nullptr; }

 private:
  Napi::Value Stats(const Napi::CallbackInfo& info);  // () → {idle, busy, hijacked, calls} | null
  Napi::Value Close(const Napi::CallbackInfo& info);  // (callback) → false when already closed
  Napi::Value Describe(const Napi::CallbackInfo& info);  // () → "unix:///var/run/docker.sock"

  EngineHost* host_ = nullptr;
};

}  // namespace alk::node

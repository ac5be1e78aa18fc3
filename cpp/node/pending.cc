#include "node/pending.h"

#include <cstdint>
#include <vector>

#include "node/addon.h"

namespace alk::node {
namespace {

// Reads the slot in info[0] into `slot`; false, with a TypeError thrown, when it is not a uint32.
bool read_slot(const Napi::CallbackInfo& info, uint32_t& slot) {
  const Napi::Value v = info[0];
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && d <= UINT32_MAX && static_cast<double>(static_cast<uint32_t>(d)) == d) {
      slot = static_cast<uint32_t>(d);
      return true;
    }
  }
  Napi::TypeError::New(info.Env(), "pending: slot must be a uint32").ThrowAsJavaScriptException();
  return false;
}

Napi::Value pending_wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = 0;
  if (!read_slot(info, slot)) return {};
  std::vector<napi_deferred>& waits = Addon::from(env)->pending;
  // Slots are dense (lib/pending.js reuses freed ones first): a new one is the next index.
  if (slot > waits.size()) {
    Napi::TypeError::New(env, "pending: slot out of range").ThrowAsJavaScriptException();
    return {};
  }
  if (slot == waits.size()) waits.push_back(nullptr);
  if (waits[slot] != nullptr) {
    Napi::TypeError::New(env, "pending: slot already has a wait").ThrowAsJavaScriptException();
    return {};
  }
  napi_value promise = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &waits[slot], &promise), Napi::Value());
  return {env, promise};
}

Napi::Value pending_settle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t slot = 0;
  if (!read_slot(info, slot)) return {};
  std::vector<napi_deferred>& waits = Addon::from(env)->pending;
  if (slot >= waits.size() || waits[slot] == nullptr) {
    Napi::TypeError::New(env, "pending: slot has no wait").ThrowAsJavaScriptException();
    return {};
  }
  napi_deferred wait = waits[slot];
  waits[slot] = nullptr;
  const napi_status status = info[2].ToBoolean() ? napi_resolve_deferred(env, wait, info[1])
                                                 : napi_reject_deferred(env, wait, info[1]);
  NAPI_THROW_IF_FAILED(env, status, Napi::Value());
  return env.Undefined();
}

}  // namespace

void define_pending(Napi::Env env, Napi::Object exports) {
  exports.Set("pendingWait", Napi::Function::New(env, pending_wait, "pendingWait"));
  exports.Set("pendingSettle", Napi::Function::New(env, pending_settle, "pendingSettle"));
}

}  // namespace alk::node

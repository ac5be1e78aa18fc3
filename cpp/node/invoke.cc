#include "node/invoke.h"

#include <memory>
#include <optional>
#include <vector>

#include "node/addon.h"

namespace alk::node {

void invoke(Napi::Env env, napi_async_context context, napi_value recv, napi_value fn,
            std::initializer_list<napi_value> args) {
  std::vector<napi_value> argv(args);
  napi_value result = nullptr;
  // C API on purpose: node-addon-api would turn a failure into a thrown Error, and throwing is
  // fatal while the env terminates.
  const napi_status status =
      napi_make_callback(env, context, recv, fn, argv.size(), argv.data(), &result);
  if (status == napi_ok) return;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value error = nullptr;
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok || error == nullptr) return;
  napi_valuetype type = napi_undefined;
  // A terminating env leaves a non-object behind; only real errors are reported.
  if (napi_typeof(env, error, &type) == napi_ok && type == napi_object) {
    napi_fatal_exception(env, error);
  }
}

std::function<void()> js_completion(const Napi::CallbackInfo& info, size_t index,
                                    const char* resource) {
  Napi::Env env = info.Env();
  struct Pending {
    Napi::FunctionReference callback;
    std::optional<Napi::AsyncContext> context;
    Addon* addon = nullptr;
  };
  auto pending = std::make_shared<Pending>();
  pending->addon = Addon::from(env);
  if (info.Length() > index && info[index].IsFunction()) {
    pending->callback = Napi::Persistent(info[index].As<Napi::Function>());
    pending->context.emplace(env, resource);
  }
  return [pending, env] {
    // At env teardown nothing may run JS; the references die with the env.
    if (pending->callback.IsEmpty() || pending->addon->closing) return;
    Napi::HandleScope scope(env);
    invoke(env, *pending->context, env.Global(), pending->callback.Value(), {});
    pending->callback.Reset();
    pending->context.reset();
  };
}

}  // namespace alk::node

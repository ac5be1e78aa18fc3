#include "node/addon.h"

#include <uv.h>

#include <memory>
#include <vector>

#include "node/engine_host.h"
#include "node/engine_wrap.h"
#include "node/flusher.h"
#include "node/js_call.h"

namespace alk::node {

Addon::Addon(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  flusher = new Flusher(loop);
  napi_add_async_cleanup_hook(env, &Addon::on_cleanup, this, &cleanup_hook_);
}

Addon::~Addon() = default;

void Addon::on_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* addon = static_cast<Addon*>(arg);
  addon->closing = true;
  // One count per engine plus one for the flusher; the hook is removed when all are closed.
  auto remaining = std::make_shared<size_t>(addon->hosts.size() + 1);
  auto one_done = [remaining, handle] {
    if (--*remaining == 0) napi_remove_async_cleanup_hook(handle);
  };
  const std::vector<EngineHost*> hosts(addon->hosts.begin(), addon->hosts.end());
  for (EngineHost* host : hosts) host->shutdown(one_done);
  Flusher* flusher = addon->flusher;
  addon->flusher = nullptr;
  flusher->close([flusher, one_done] {
    delete flusher;
    one_done();
  });
}

Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new Addon(env));
  exports.Set("Engine", EngineWrap::Define(env));
  exports.Set("Call", JsCall::Define(env));
  exports.Set("uvVersion", Napi::String::New(env, uv_version_string()));
  return exports;
}

}  // namespace alk::node

namespace {

Napi::Object InitAlknetDocker(Napi::Env env, Napi::Object exports) {
  return alk::node::init_module(env, exports);
}

}  // namespace

NODE_API_MODULE(alknet_docker, InitAlknetDocker)

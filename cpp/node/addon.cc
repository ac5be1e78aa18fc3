#include "node/addon.h"

#include <uv.h>

#include <memory>
#include <vector>

#include "node/engine_host.h"
#include "node/engine_wrap.h"
#include "node/flusher.h"
#include "node/js_call.h"
#include "node/pending.h"
#include "node/quic_connection_wrap.h"
#include "node/quic_host.h"
#include "node/quic_stream_wrap.h"

namespace alk::node {

Addon::Addon(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  flusher = new Flusher(loop);
  napi_add_async_cleanup_hook(env, &Addon::on_cleanup, this, &cleanup_hook_);
}

Addon::~Addon() = default;

uv_loop_t* Addon::loop_for_new(Napi::Env env) {
  if (from(env)->closing) {
    Napi::Error::New(env, "the environment is shutting down").ThrowAsJavaScriptException();
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
    return nullptr;
  }
  return loop;
}

void Addon::on_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* addon = static_cast<Addon*>(arg);
  addon->closing = true;
  // One count per engine, one for the QUIC connections, one for the flusher; the hook is
  // removed when all are closed.
  auto remaining = std::make_shared<size_t>(addon->hosts.size() + 2);
  auto one_done = [remaining, handle] {
    if (--*remaining == 0) napi_remove_async_cleanup_hook(handle);
  };
  const std::vector<EngineHost*> hosts(addon->hosts.begin(), addon->hosts.end());
  for (EngineHost* host : hosts) host->shutdown(one_done);
  // Streams are abandoned (nothing reaches JS any more) while the flusher still exists, so each
  // can take itself off its queue.
  std::vector<std::shared_ptr<QuicHost>> quic;
  for (QuicHost* q : addon->quic_hosts) quic.push_back(q->shared_from_this());
  for (auto& q : quic) q->abandon();
  quic.clear();
  if (addon->quic_freeing == 0) {
    one_done();
  } else {
    addon->on_quic_freed = one_done;
  }
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
  exports.Set("QuicConnection", QuicConnectionWrap::Define(env));
  exports.Set("QuicStream", QuicStreamWrap::Define(env));
  define_pending(env, exports);
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

// Per-environment state of the addon (main thread and each worker have their own): the flusher
// that delivers events to JS, the engines to shut down at env teardown. Kept as the env's
// instance data, never in a global, so several environments can use the addon at once.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

namespace alk::node {

class EngineHost;
class Flusher;
class QuicHost;

struct Addon {
  explicit Addon(Napi::Env env);
  ~Addon();
  Addon(const Addon&) = delete;
  Addon& operator=(const Addon&) = delete;

  static Addon* from(Napi::Env env) { return env.GetInstanceData<Addon>(); }

  /// The env's loop, for a new engine or connection; nullptr, with a JS exception pending, when
  /// the env is being torn down.
  static uv_loop_t* loop_for_new(Napi::Env env);

  /// Delivers call events on Node's loop; nullptr once the env is being torn down.
  Flusher* flusher = nullptr;
  /// Engines not yet shut down.
  std::set<EngineHost*> hosts;
  /// QUIC connections not yet closed (quic_host.h).
  std::set<QuicHost*> quic_hosts;
  /// QUIC connections closed whose handles are not yet freed.
  size_t quic_freeing = 0;
  /// Env teardown: runs once quic_freeing falls to zero.
  std::function<void()> on_quic_freed;
  /// The waits of JS iterators' next(), by slot (pending.h); nullptr for a free slot.
  std::vector<napi_deferred> pending;
  /// Request ids of in-process calls ("js-N").
  uint64_t next_call_id = 0;
  /// The env is being torn down: no more JS calls, no new engines.
  bool closing = false;

 private:
  // Env teardown (napi async cleanup hook): shuts every engine down (each live call is cancelled,
  // so run kills what it started and every docker connection is closed), closes every QUIC
  // connection (its streams abandoned), closes the flusher, and lets Node finish the teardown
  // once every libuv handle is closed.
  static void on_cleanup(napi_async_cleanup_hook_handle handle, void* arg);

  napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;
};

/// The module's initializer: per-env state, then the exports (Engine, Call, QuicConnection,
/// QuicStream, uvVersion).
Napi::Object init_module(Napi::Env env, Napi::Object exports);

}  // namespace alk::node

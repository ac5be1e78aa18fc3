// The native side of one JS Engine: an ops::Engine on Node's loop and the calls running on it.
// Outlives its JS wrapper when needed: shutdown() closes the engine asynchronously and the host
// frees itself once every libuv handle is closed.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "ops/engine.h"

namespace alk::node {

class JsCall;
class EngineWrap;
struct Addon;

/// Loop-thread only.
class EngineHost {
 public:
  EngineHost(Addon& addon, uv_loop_t* loop, ops::EngineOptions options);
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  ops::Engine& engine() { return *engine_; }
  /// True once shutdown() began: no new call may start.
  bool closing() const { return closing_; }

  void add_call(JsCall* call) { calls_.insert(call); }
  void remove_call(JsCall* call) { calls_.erase(call); }
  size_t live_calls() const { return calls_.size(); }

  /// The wrapper to tell when the host is gone (cleared by the wrapper's destructor).
  void set_wrap(EngineWrap* wrap) { wrap_ = wrap; }

  /// Abandons every live call (nothing more reaches JS; each handler is cancelled, so docker-side
  /// resources are released), closes the engine, runs `done` (may be empty) once every handle is
  /// closed, then deletes this host. A call while the shutdown runs only adds `done` to the
  /// callbacks of that shutdown. The host stays in Addon::hosts until it is gone, so env teardown
  /// waits for a shutdown that JS (or GC) started.
  void shutdown(std::function<void()> done);

 private:
  ~EngineHost();  // only shutdown() frees a host

  Addon* addon_;
  std::unique_ptr<ops::Engine> engine_;
  std::set<JsCall*> calls_;
  EngineWrap* wrap_ = nullptr;
  bool closing_ = false;
  std::vector<std::function<void()>> on_closed_;  // shutdown callbacks
};

}  // namespace alk::node

// The engine: a Docker client, the operation registry and the services handlers share, on one
// libuv loop. The unix/QUIC servers and the Node addon each wrap one.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "call/registry.h"
#include "docker/client.h"
#include "ops/background.h"
#include "ops/services.h"
#include "util/deferrer.h"

namespace alk::ops {

struct EngineOptions {
  docker::Endpoint endpoint;  ///< where dockerd is (see docker::endpoint_from_env)
  docker::ClientOptions docker;
  std::string label_prefix = "alknet";
};

/// Loop-thread only. Close it and wait for the callback before destroying it or the loop.
class Engine {
 public:
  Engine(uv_loop_t* loop, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  call::Registry& registry() { return registry_; }
  Services& services() { return services_; }
  Deferrer& deferrer() { return *deferrer_; }
  docker::Client& docker() { return *docker_; }
  uv_loop_t* loop() const { return loop_; }

  /// Closes the engine; `done` runs from a libuv close callback once every handle is closed (the
  /// engine may be freed there). In order: the deferrer runs what is queued (retired handlers are
  /// destroyed; a cancelled `run` sends its force-remove), then close waits for the background
  /// requests (services().background: those already pending and those sent meanwhile) to answer,
  /// at most kCloseDrainTimeoutMs, drops whatever is left, and closes the Docker client. So a run
  /// cancelled before or at close removes its container unless the daemon takes longer than that.
  ///
  /// The engine itself refuses nothing: its owner must stop starting calls first (the Node host
  /// refuses new calls once it shuts down; `serve` closes its listeners first), and calls must be
  /// finished or cancelled. Later calls to close() do nothing (their `done` never runs).
  void close(std::function<void()> done);

  /// The longest close() waits for background requests (see there).
  static constexpr uint64_t kCloseDrainTimeoutMs = 3000;

 private:
  void drain_background(std::function<void()> done);
  void finish_close();

  uv_loop_t* loop_;
  std::unique_ptr<docker::Client> docker_;
  std::unique_ptr<Deferrer> deferrer_;
  std::unique_ptr<Background> background_;
  Services services_;
  call::Registry registry_;
  bool closed_ = false;
  uv_timer_t* drain_timer_ = nullptr;  // owned while close() waits; freed in its close callback
  std::function<void()> close_done_;
};

}  // namespace alk::ops

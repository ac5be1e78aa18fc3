// The engine: a Docker client, the operation registry and the services handlers share, on one
// libuv loop. The unix/QUIC servers and the Node addon each wrap one.
#pragma once

#include <uv.h>

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

  /// Cancels background requests, closes the Docker client and the deferrer; `done` runs when
  /// every handle is closed. Calls must already be finished or cancelled.
  void close(std::function<void()> done);

 private:
  uv_loop_t* loop_;
  std::unique_ptr<docker::Client> docker_;
  std::unique_ptr<Deferrer> deferrer_;
  std::unique_ptr<Background> background_;
  Services services_;
  call::Registry registry_;
  bool closed_ = false;
};

}  // namespace alk::ops

// Docker requests that must finish even though the call that wanted them is gone: killing and
// removing the container of a cancelled run, removing an auto-remove container.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "docker/client.h"

namespace alk::ops {

/// Holds fire-and-forget requests until they answer. Loop-thread only.
class Background {
 public:
  explicit Background(docker::Client& docker) : docker_(docker) {}

  /// Sends `request`; `done` (optional) gets the result. The request lives until it answers or
  /// cancel_all() runs. `done` may send more requests.
  void send(docker::Request request,
            std::function<void(Result<docker::Response, docker::Error>)> done = {});

  /// Requests still waiting for an answer.
  size_t pending() const { return inflight_.size(); }

  /// `fn` runs each time the last pending request has answered (after its `done`, which may have
  /// sent another: then not yet), from inside the Docker client's callback — so `fn` must not
  /// close or free the client. Empty `fn` clears it. Used by Engine::close to wait for them.
  void set_on_empty(std::function<void()> fn) { on_empty_ = std::move(fn); }

  /// Drops every pending request: no `done` runs for them (engine shutdown).
  void cancel_all() { inflight_.clear(); }

 private:
  docker::Client& docker_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::unique_ptr<docker::RequestHandle>> inflight_;
  std::function<void()> on_empty_;
};

}  // namespace alk::ops

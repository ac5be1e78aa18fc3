#include "ops/background.h"

namespace alk::ops {

void Background::send(docker::Request request,
                      std::function<void(Result<docker::Response, docker::Error>)> done) {
  const uint64_t id = next_id_++;
  auto handle = docker_.send(
      std::move(request),
      [this, id, done = std::move(done)](Result<docker::Response, docker::Error> r) mutable {
        auto keep = std::move(done);
        // The client allows destroying a handle from inside its own callback.
        inflight_.erase(id);
        if (keep) keep(std::move(r));
        if (inflight_.empty() && on_empty_) on_empty_();
      });
  inflight_.emplace(id, std::move(handle));
}

}  // namespace alk::ops

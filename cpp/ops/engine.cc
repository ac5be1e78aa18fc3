#include "ops/engine.h"

#include "ops/register.h"

namespace alk::ops {

Engine::Engine(uv_loop_t* loop, EngineOptions options)
    : loop_(loop),
      docker_(std::make_unique<docker::Client>(loop, options.endpoint, options.docker)),
      deferrer_(std::make_unique<Deferrer>(loop)),
      background_(std::make_unique<Background>(*docker_)) {
  services_.loop = loop;
  services_.docker = docker_.get();
  services_.deferrer = deferrer_.get();
  services_.background = background_.get();
  services_.label_prefix = options.label_prefix;
  register_all(registry_, services_);
}

Engine::~Engine() = default;

void Engine::close(std::function<void()> done) {
  if (closed_) return;
  closed_ = true;
  background_->cancel_all();
  // The deferrer first runs what is queued (retired handlers release their docker handles), then
  // the client closes its connections.
  deferrer_->close([this, done = std::move(done)]() mutable { docker_->close(std::move(done)); });
}

}  // namespace alk::ops

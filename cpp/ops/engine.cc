#include "ops/engine.h"

#include <utility>

#include "ops/register.h"

namespace alk::ops {

Engine::Engine(uv_loop_t* loop, EngineOptions options)
    : loop_(loop),
      docker_(std::make_unique<docker::Client>(loop, std::move(options.endpoint),
                                               std::move(options.docker))),
      deferrer_(std::make_unique<Deferrer>(loop)),
      background_(std::make_unique<Background>(*docker_)) {
  services_.loop = loop;
  services_.docker = docker_.get();
  services_.deferrer = deferrer_.get();
  services_.background = background_.get();
  services_.label_prefix = std::move(options.label_prefix);
  register_all(registry_, services_);
}

Engine::~Engine() = default;

void Engine::close(std::function<void()> done) {
  if (closed_) return;
  closed_ = true;
  // The deferrer first runs what is queued: retired handlers release their docker handles and a
  // cancelled run sends its container's removal through the background.
  deferrer_->close([this, done = std::move(done)]() mutable { drain_background(std::move(done)); });
}

// Those removals are why close waits: dropped, they would leave a cancelled run's container
// running on the daemon after the process (or worker) that started it is gone.
void Engine::drain_background(std::function<void()> done) {
  if (background_->pending() == 0) {
    docker_->close(std::move(done));
    return;
  }
  close_done_ = std::move(done);
  drain_timer_ = new uv_timer_t;
  uv_timer_init(loop_, drain_timer_);
  drain_timer_->data = this;
  auto on_timer = [](uv_timer_t* t) { static_cast<Engine*>(t->data)->finish_close(); };
  // The last answer arrives inside a client callback, where the client must not be closed: the
  // timer moves the rest of the close to the next loop turn.
  background_->set_on_empty([this, on_timer] { uv_timer_start(drain_timer_, on_timer, 0, 0); });
  uv_timer_start(drain_timer_, on_timer, kCloseDrainTimeoutMs, 0);
}

void Engine::finish_close() {
  background_->set_on_empty(nullptr);
  background_->cancel_all();  // only what the deadline cut off
  uv_close(reinterpret_cast<uv_handle_t*>(drain_timer_), [](uv_handle_t* h) {
    auto* self = static_cast<Engine*>(h->data);
    delete reinterpret_cast<uv_timer_t*>(h);
    self->drain_timer_ = nullptr;
    self->docker_->close(std::move(self->close_done_));
  });
}

}  // namespace alk::ops

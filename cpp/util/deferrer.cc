#include "util/deferrer.h"

#include <utility>

namespace alk {

Deferrer::Deferrer(uv_loop_t* loop) : loop_(loop), idle_(new uv_idle_t) {
  uv_idle_init(loop_, idle_);
  idle_->data = this;
}

Deferrer::~Deferrer() {
  // close() must have run; if not, leak the handle rather than free memory libuv still links.
  if (idle_ && !closing_) {
    idle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(idle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  }
}

void Deferrer::post(std::function<void()> fn) {
  if (closing_) return;
  queue_.push_back(std::move(fn));
  // An active idle handle also makes the loop poll with a zero timeout, so the queue runs promptly.
  uv_idle_start(idle_, &Deferrer::on_idle);
}

void Deferrer::on_idle(uv_idle_t* idle) {
  auto* self = static_cast<Deferrer*>(idle->data);
  if (self) self->run_queue();
}

void Deferrer::run_queue() {
  std::vector<std::function<void()>> batch;
  batch.swap(queue_);
  for (auto& fn : batch) fn();
  if (idle_ && queue_.empty()) uv_idle_stop(idle_);
}

void Deferrer::close(std::function<void()> done) {
  if (closing_) return;
  run_queue();
  closing_ = true;
  struct Closing {
    std::function<void()> done;
  };
  idle_->data = new Closing{std::move(done)};
  uv_close(reinterpret_cast<uv_handle_t*>(idle_), [](uv_handle_t* h) {
    auto* closing = static_cast<Closing*>(h->data);
    delete reinterpret_cast<uv_idle_t*>(h);
    if (closing->done) closing->done();
    delete closing;
  });
  idle_ = nullptr;
}

}  // namespace alk

#include "node/flusher.h"

#include <algorithm>

namespace alk::node {

Flusher::Flusher(uv_loop_t* loop) : check_(new uv_check_t), idle_(new uv_idle_t) {
  uv_check_init(loop, check_);
  uv_idle_init(loop, idle_);
  check_->data = this;
  idle_->data = this;
  // The check handle alone must never keep the process alive; the idle handle does while work
  // is queued, which is what makes that work happen.
  uv_unref(reinterpret_cast<uv_handle_t*>(check_));
}

Flusher::~Flusher() = default;

void Flusher::schedule(Deliverable* d) {
  if (closed_ || d->scheduled_) return;
  d->scheduled_ = true;
  queue_.push_back(d);
  start();
}

void Flusher::cancel(Deliverable* d) {
  if (!d->scheduled_) return;
  d->scheduled_ = false;
  std::replace(queue_.begin(), queue_.end(), d, static_cast<Deliverable*>(nullptr));
}

void Flusher::start() {
  if (active_) return;
  active_ = true;
  uv_check_start(check_, on_check);
  uv_idle_start(idle_, on_idle);
}

void Flusher::stop() {
  if (!active_) return;
  active_ = false;
  uv_check_stop(check_);
  uv_idle_stop(idle_);
}

void Flusher::on_check(uv_check_t* h) {
  static_cast<Flusher*>(h->data)->run();
}
void Flusher::on_idle(uv_idle_t* h) {
  static_cast<Flusher*>(h->data)->run();
}

void Flusher::run() {
  if (running_ || closed_) return;
  running_ = true;
  // Only what was queued when the flush began; what deliveries schedule waits for the next one.
  const size_t n = queue_.size();
  for (size_t i = 0; i < n && !closed_; ++i) {
    Deliverable* d = queue_[i];
    if (d == nullptr) continue;
    queue_[i] = nullptr;
    d->scheduled_ = false;
    d->deliver();
  }
  if (!closed_) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    if (queue_.empty()) stop();
  }
  running_ = false;
}

void Flusher::close(std::function<void()> done) {
  if (closed_) return;
  closed_ = true;
  for (Deliverable* d : queue_) {
    if (d != nullptr) d->scheduled_ = false;
  }
  queue_.clear();
  on_closed_ = std::move(done);
  closing_handles_ = 2;
  auto closed = [](uv_handle_t* h) {
    auto* self = static_cast<Flusher*>(h->data);
    if (h->type == UV_CHECK) {
      delete reinterpret_cast<uv_check_t*>(h);
    } else {
      delete reinterpret_cast<uv_idle_t*>(h);
    }
    if (--self->closing_handles_ == 0 && self->on_closed_) {
      auto cb = std::move(self->on_closed_);
      cb();
    }
  };
  uv_close(reinterpret_cast<uv_handle_t*>(check_), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(idle_), closed);
  check_ = nullptr;
  idle_ = nullptr;
}

}  // namespace alk::node

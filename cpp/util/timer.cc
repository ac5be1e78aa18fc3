#include "util/timer.h"

#include <utility>

namespace alk {

Timer::Timer(uv_loop_t* loop) : handle_(new uv_timer_t) {
  uv_timer_init(loop, handle_);
  handle_->data = this;
}

Timer::~Timer() {
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

void Timer::start(uint64_t delay_ms, std::function<void()> fn) {
  fn_ = std::move(fn);
  if (delay_ms > 0) uv_update_time(handle_->loop);  // count from now, not the cached loop time
  uv_timer_start(handle_, &Timer::on_fire, delay_ms, 0);
}

void Timer::stop() {
  fn_ = nullptr;
  uv_timer_stop(handle_);
}

void Timer::on_fire(uv_timer_t* t) {
  auto* self = static_cast<Timer*>(t->data);
  if (!self) return;
  // Moved out first: the closure may destroy the Timer.
  auto fn = std::move(self->fn_);
  self->fn_ = nullptr;
  if (fn) fn();
}

}  // namespace alk

// A one-shot libuv timer owned like an ordinary object: destroying it (even from inside its own
// callback) stops it, and the handle's memory is freed by libuv's close callback.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace alk {

/// Runs a closure once after a delay. Loop-thread only. Must be destroyed before the loop closes;
/// the handle close completes on a later loop turn.
class Timer {
 public:
  explicit Timer(uv_loop_t* loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  /// (Re)arms the timer: `fn` runs once, `delay_ms` from now, unless stop() or the destructor
  /// runs first. A pending closure is replaced. `fn` may destroy the Timer.
  void start(uint64_t delay_ms, std::function<void()> fn);
  /// Disarms the timer; the pending closure is dropped.
  void stop();
  bool armed() const { return static_cast<bool>(fn_); }

 private:
  static void on_fire(uv_timer_t* t);

  uv_timer_t* handle_;  // owned; freed in its close callback
  std::function<void()> fn_;
};

}  // namespace alk

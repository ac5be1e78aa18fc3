// Runs work on a later turn of the loop: the way to destroy an object whose method is still on the
// stack (a handler that completed from inside its own callback) without re-entering it.
#pragma once

#include <uv.h>

#include <functional>
#include <vector>

namespace alk {

/// A queue of closures run at the next loop iteration, in order. Loop-thread only.
class Deferrer {
 public:
  explicit Deferrer(uv_loop_t* loop);
  ~Deferrer();
  Deferrer(const Deferrer&) = delete;
  Deferrer& operator=(const Deferrer&) = delete;

  /// Queues `fn`. Closures posted while the queue runs go to the next iteration.
  void post(std::function<void()> fn);

  /// Runs what is queued, then closes the idle handle; `done` runs from its close callback. The
  /// Deferrer must stay allocated until then. post() after close() runs nothing.
  void close(std::function<void()> done);

  uv_loop_t* loop() const { return loop_; }

 private:
  static void on_idle(uv_idle_t* idle);
  void run_queue();

  uv_loop_t* loop_;
  uv_idle_t* idle_;  // owned; freed in its close callback
  std::vector<std::function<void()>> queue_;
  bool closing_ = false;
};

}  // namespace alk

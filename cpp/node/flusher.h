// Delivers queued work to JavaScript on a turn of Node's loop of its own: right after the poll
// phase that produced it (a check handle, so one flush carries every read of that phase), and
// never later than the next iteration (an idle handle keeps poll from blocking while work waits).
// This is what keeps native→JS calls out of JS→native calls: sinks only queue and schedule().
#pragma once

#include <uv.h>

#include <functional>
#include <vector>

namespace alk::node {

/// Something with queued work to deliver. Owned elsewhere; it must cancel() itself from the
/// Flusher before it is destroyed.
class Deliverable {
 public:
  virtual ~Deliverable() = default;
  /// Runs the delivery (calls into JS). May schedule() itself or others again: they run on the
  /// next flush.
  virtual void deliver() = 0;

 private:
  friend class Flusher;
  bool scheduled_ = false;
};

/// One per Node environment. Loop-thread only.
class Flusher {
 public:
  explicit Flusher(uv_loop_t* loop);
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  /// Queues `d` for the next flush (once, however often it is scheduled). Ignored after close().
  void schedule(Deliverable* d);
  /// Removes `d` from the queue, if there.
  void cancel(Deliverable* d);

  /// Stops delivering and closes the handles; `done` runs from the last close callback. The
  /// Flusher must stay allocated until then.
  void close(std::function<void()> done);

 private:
  static void on_check(uv_check_t* h);
  static void on_idle(uv_idle_t* h);
  void run();
  void start();
  void stop();

  uv_check_t* check_;                // owned; freed in its close callback
  uv_idle_t* idle_;                  // owned; freed in its close callback
  std::vector<Deliverable*> queue_;  // nullptr marks a cancelled entry
  bool active_ = false;
  bool running_ = false;
  bool closed_ = false;
  int closing_handles_ = 0;
  std::function<void()> on_closed_;
};

}  // namespace alk::node

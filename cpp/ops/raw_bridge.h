// The raw carriage of an interactive call (attach, exec with stdin or a TTY): a hijacked docker
// connection on one side, the call's chunks on the other.
//
//   docker output (multiplexed or TTY) → stdout/stderr chunks      (OutputPump, raw_chunks)
//   stdin chunks                       → hijacked connection       (input backpressure)
//   end of stdin                       → half-close / TTY EOF key  (see StdinEnd)
//   control in: resize, signal         → POST …/resize, POST /containers/{id}/kill
//   exit chunk (finish_raw)            ← only after the output's EOF AND the exit code
//
// The owner (the operation's handler) opens the bridge with the hijack request, forwards the
// Handler hooks to it, and supplies the exit code when it learns it (exec: inspect after the
// output ended; attach: the wait registered before attaching).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "call/operation.h"
#include "docker/client.h"
#include "ops/background.h"
#include "ops/docker_errors.h"
#include "ops/output_pump.h"
#include "ops/services.h"
#include "util/timer.h"

namespace alk::ops {

/// How the end of the caller's stdin reaches the process. The daemon ends the output of a session
/// whose stdin is half-closed unless it closes the process's stdin instead, which it does only
/// for non-TTY exec and for non-TTY attach to a StdinOnce container (moby
/// container/stream/attach.go, moby#38457).
enum class StdinEnd {
  half_close,  ///< shutdown(SHUT_WR) of the hijacked socket: the daemon closes the process's stdin
  tty_eof,     ///< write the terminal's EOF character (Ctrl-D); the socket stays open
  keep_open,   ///< nothing: closing would end the output while the process keeps its stdin
};

/// Where signal control messages go.
enum class SignalRoute {
  none,            ///< ignored
  kill_container,  ///< POST /containers/{id}/kill?signal=SIG<name> (attach)
  tty_keys,        ///< INT, QUIT, TSTP typed as Ctrl-C, Ctrl-\, Ctrl-Z (TTY exec: docker cannot
                   ///< signal an exec process)
};

struct RawBridgeOptions {
  bool tty = false;    ///< framing of the output (from inspect on API 1.41)
  bool stdin = false;  ///< forward stdin chunks (the docker side attached stdin)
  StdinEnd stdin_end = StdinEnd::half_close;
  /// POST path of resize controls ("/exec/<id>/resize", "/containers/<id>/resize"); empty:
  /// resize is ignored.
  std::string resize_path;
  SignalRoute signals = SignalRoute::none;
  std::string kill_path;  ///< "/containers/<id>/kill" for SignalRoute::kill_container
  /// What a 404 of the hijack request means.
  Subject subject = Subject::container;
  /// When non-zero: once the exit code is known, output that stays silent (and not held back by
  /// backpressure) this long counts as ended. Attach needs it: an attach that raced the container's
  /// exit never sees EOF.
  uint64_t exit_drain_grace_ms = 0;
};

/// Stdin bytes queued towards the daemon above which the caller's input is paused.
inline constexpr size_t kStdinHighWater = size_t{1} << 20;

/// One raw session. Owned by the operation's handler; loop-thread only. Every answer goes through
/// `sink`: begin_raw when the connection switched, chunks, then exactly one finish_raw — or
/// sink.fail when docker refused before the switch. Destroying it releases the docker connection
/// and pending requests and touches nothing else.
class RawBridge {
 public:
  RawBridge(Services& services, call::CallSink& sink, RawBridgeOptions options);
  ~RawBridge();
  RawBridge(const RawBridge&) = delete;
  RawBridge& operator=(const RawBridge&) = delete;

  /// Sends the hijack `request` (no stdin byte is written before the daemon switched). On the
  /// switch: sink.begin_raw(tty) and the output flows. `on_output_end` runs once, when the
  /// docker output reached a clean EOF (exec asks for its exit code then). Call once.
  void open(docker::Request request, std::function<void()> on_output_end = {});

  /// The exit code is known (-1: it cannot be known). Callable at any time, also before open();
  /// the exit chunk goes out once the output reached EOF too. Later calls are ignored.
  void set_exit_code(int code);

  /// A docker failure. Before the switch: sink.fail(error). After it: a control chunk
  /// {"type":"error","code","message"}, then finish_raw(-1). Terminal.
  void fail(const call::CallError& error);

  // The owning handler's hooks, forwarded.
  void on_writable();
  void on_stdin(std::string_view bytes);
  void on_stdin_end();
  void on_control(const nlohmann::json& message);
  /// Closes everything; nothing more reaches the sink.
  void cancel();

  /// True after the terminal answer (or cancel()).
  bool done() const { return done_; }

 private:
  void opened(const docker::Response& head);
  void data(std::string_view bytes);
  void ended(std::optional<docker::Error> error);
  void end_stdin();
  void write_stdin(std::string_view bytes);
  void resize(const nlohmann::json& message);
  void signal(const nlohmann::json& message);
  void output_finished();
  void maybe_finish();
  void arm_drain_grace();
  void release();

  Services& services_;
  call::CallSink& sink_;
  RawBridgeOptions options_;
  OutputPump pump_;
  std::unique_ptr<docker::Hijacked> conn_;
  Background controls_;  // resize and kill requests of this session
  Timer drain_grace_;
  std::function<void()> on_output_end_;
  std::optional<int> exit_code_;
  bool open_ = false;          // the connection switched; begin_raw sent
  bool output_done_ = false;   // EOF (or the drain grace ran out)
  bool stdin_ended_ = false;   // the caller's stdin ended
  bool input_paused_ = false;  // sink.pause_input() is in force
  bool done_ = false;
};

}  // namespace alk::ops

// Wires the process's terminal to a raw-carriage call: stdin to stdin chunks (with backpressure
// and EOF), window size to resize control messages, raw mode while a TTY session runs.
#pragma once

#include <uv.h>

#include <csignal>

#include "client/call_client.h"

namespace alk::server {

/// Loop-thread only. stop() before destroying; the handles close asynchronously and are freed in
/// their close callbacks.
class Terminal {
 public:
  /// `tty`: the remote side is a TTY (raw mode and window size matter).
  Terminal(uv_loop_t* loop, client::ClientCall& call, bool tty);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  /// Starts forwarding stdin and window-size changes. With a TTY session on a terminal, puts it
  /// in raw mode and, until stop(), has SIGTERM, SIGHUP, SIGINT and SIGQUIT restore its mode
  /// before they end the process.
  void start();
  /// Resumes stdin after the call's write queue drained.
  void resume_input();
  /// Stops forwarding and restores the terminal mode.
  void stop();

  /// How many signals restore the terminal's mode before they end the process.
  static constexpr size_t kEndingSignalCount = 4;

 private:
  void restore_signal_actions();
  void send_size();
  void read_stdin_start();

  uv_loop_t* loop_;
  client::ClientCall& call_;
  bool tty_;
  uv_stream_t* input_ = nullptr;  // uv_tty_t or uv_pipe_t; freed in its close callback
  uv_signal_t* winch_ = nullptr;
  bool raw_mode_ = false;
  struct sigaction previous_actions_[kEndingSignalCount] {};  // while in raw mode
  bool paused_ = false;
  bool eof_ = false;
  bool stopped_ = false;
  char buf_[64 * 1024]{};  // stdin reads; one per process, so zeroing it costs nothing
};

}  // namespace alk::server

#include "server/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <iterator>

namespace alk::server {

namespace {

void close_and_free(uv_handle_t* h) {
  uv_close(h, [](uv_handle_t* closed) { ::operator delete(closed); });
}

// Signals that end the process by default while the terminal is raw (SIGINT only when sent
// with kill: raw mode turns the keyboard's off).
constexpr int kEndingSignals[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};

// Leaves the user's terminal as it was found, then ends the process as the signal would have.
// uv_tty_reset_mode() is async-signal-safe for exactly this.
void reset_terminal_and_end(int signum) {
  uv_tty_reset_mode();
  ::signal(signum, SIG_DFL);
  ::raise(signum);
}

}  // namespace

static_assert(std::size(kEndingSignals) == Terminal::kEndingSignalCount);

Terminal::Terminal(uv_loop_t* loop, client::ClientCall& call, bool tty)
    : loop_(loop), call_(call), tty_(tty) {}

Terminal::~Terminal() {
  stop();
}

void Terminal::start() {
  const uv_handle_type kind = uv_guess_handle(0);
  if (kind == UV_TTY) {
    auto* t = static_cast<uv_tty_t*>(::operator new(sizeof(uv_tty_t)));
    uv_tty_init(loop_, t, 0, 1);
    input_ = reinterpret_cast<uv_stream_t*>(t);
    if (tty_) {
      // The handlers go in first: a signal between the two must not leave the terminal raw.
      struct sigaction reset {};
      reset.sa_handler = &reset_terminal_and_end;
      sigemptyset(&reset.sa_mask);
      for (size_t i = 0; i < std::size(kEndingSignals); ++i) {
        ::sigaction(kEndingSignals[i], &reset, &previous_actions_[i]);
      }
      raw_mode_ = uv_tty_set_mode(t, UV_TTY_MODE_RAW) == 0;
      if (!raw_mode_) restore_signal_actions();
    }
  } else if (kind == UV_NAMED_PIPE || kind == UV_TCP) {
    auto* p = static_cast<uv_pipe_t*>(::operator new(sizeof(uv_pipe_t)));
    uv_pipe_init(loop_, p, 0);
    uv_pipe_open(p, 0);
    input_ = reinterpret_cast<uv_stream_t*>(p);
  } else {
    // A regular file or /dev/null: libuv cannot poll it, and reading it never blocks long, so it
    // is sent whole; closing stdin follows.
    ssize_t n;
    while ((n = ::read(0, buf_, sizeof(buf_))) > 0)
      call_.send_stdin(std::string_view(buf_, static_cast<size_t>(n)));
    eof_ = true;
    call_.end_stdin();
  }
  if (input_) {
    input_->data = this;
    read_stdin_start();
  }
  if (tty_ && uv_guess_handle(1) == UV_TTY) {
    winch_ = static_cast<uv_signal_t*>(::operator new(sizeof(uv_signal_t)));
    uv_signal_init(loop_, winch_);
    winch_->data = this;
    uv_signal_start(
        winch_, [](uv_signal_t* s, int) { static_cast<Terminal*>(s->data)->send_size(); },
        SIGWINCH);
    send_size();
  }
}

void Terminal::read_stdin_start() {
  if (!input_ || eof_ || stopped_) return;
  uv_read_start(
      input_,
      [](uv_handle_t* h, size_t, uv_buf_t* out) {
        auto* self = static_cast<Terminal*>(h->data);
        *out = uv_buf_init(self->buf_, sizeof(self->buf_));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* self = static_cast<Terminal*>(s->data);
        if (nread > 0) {
          self->call_.send_stdin(std::string_view(buf->base, static_cast<size_t>(nread)));
          if (!self->call_.writable()) {
            self->paused_ = true;
            uv_read_stop(s);
          }
        } else if (nread < 0) {
          uv_read_stop(s);
          self->eof_ = true;
          self->call_.end_stdin();
        }
      });
}

void Terminal::resume_input() {
  if (!paused_) return;
  paused_ = false;
  read_stdin_start();
}

void Terminal::send_size() {
  winsize ws{};
  if (::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    call_.send_control({{"type", "resize"}, {"cols", ws.ws_col}, {"rows", ws.ws_row}});
  }
}

void Terminal::restore_signal_actions() {
  for (size_t i = 0; i < std::size(kEndingSignals); ++i) {
    ::sigaction(kEndingSignals[i], &previous_actions_[i], nullptr);
  }
}

void Terminal::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (raw_mode_) {
    uv_tty_reset_mode();
    restore_signal_actions();
  }
  if (input_) {
    close_and_free(reinterpret_cast<uv_handle_t*>(input_));
    input_ = nullptr;
  }
  if (winch_) {
    close_and_free(reinterpret_cast<uv_handle_t*>(winch_));
    winch_ = nullptr;
  }
}

}  // namespace alk::server

#include "server/call_command.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "client/call_client.h"
#include "server/terminal.h"

namespace alk::server {

namespace {

// Like the docker CLI's 125: the call failed, as opposed to a container exiting non-zero.
constexpr int kCallErrorExit = 125;

void print_error(const call::CallError& e) {
  std::fprintf(stderr, "%s\n", nlohmann::json({{"error", e.to_payload()}}).dump().c_str());
}

// The output lines of a json call, written to stdout in batches: at most a millisecond after the
// first line of a batch (a timer), or once 256 KiB are waiting. A stream of log lines costs a
// system call per thousand lines or so, however the server's bytes happen to arrive, and a quiet
// follow still prints each line at once.
class LineWriter {
 public:
  explicit LineWriter(uv_loop_t* loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));  // never keeps the loop alive
  }
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;
  ~LineWriter() { flush(); }

  void add(std::string_view json) {
    if (buf_.empty()) {
      uv_timer_start(
          &timer_, [](uv_timer_t* t) { static_cast<LineWriter*>(t->data)->flush(); }, kDelayMs, 0);
    }
    buf_.append(json);
    buf_.push_back('\n');
    if (buf_.size() >= kFlushAt) flush();
  }

  void flush() {
    uv_timer_stop(&timer_);
    size_t done = 0;
    while (done < buf_.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{STDOUT_FILENO, POLLOUT, 0};  // a non-blocking stdout we inherited
        ::poll(&p, 1, -1);
      } else if (n < 0 && errno != EINTR) {
        break;  // EPIPE and the like: the reader is gone; as with fwrite, the lines are dropped
      }
    }
    buf_.clear();
  }

  /// Flushes and closes the timer; the loop must run once more to finish closing it.
  void close() {
    flush();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  }

 private:
  static constexpr size_t kFlushAt = size_t{256} << 10;
  static constexpr uint64_t kDelayMs = 1;
  uv_timer_t timer_{};
  std::string buf_;
};

// Whether `text` contains `"terminal"`. Runs on every printed line, so it filters on four of
// the key's bytes sixteen positions at a time (a general memmem costs more than the rest of the
// line's handling).
bool mentions_terminal(std::string_view text) {
  constexpr std::string_view kKey = "\"terminal\"";
  const char* p = text.data();
  const size_t n = text.size();
  if (n < kKey.size()) return false;
  const size_t last = n - kKey.size();  // last possible start
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i t = _mm_set1_epi8('t');
  const __m128i l = _mm_set1_epi8('l');
  for (; i + 16 <= last + 1; i += 16) {
    const auto load = [&](size_t at) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + at));
    };
    const __m128i hit =
        _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(load(0), quote), _mm_cmpeq_epi8(load(1), t)),
                      _mm_and_si128(_mm_cmpeq_epi8(load(8), l), _mm_cmpeq_epi8(load(9), quote)));
    for (unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit)); mask != 0;
         mask &= mask - 1) {
      if (text.compare(i + static_cast<size_t>(__builtin_ctz(mask)), kKey.size(), kKey) == 0) {
        return true;
      }
    }
  }
#endif
  for (; i <= last; ++i) {
    if (p[i] == '"' && text.compare(i, kKey.size(), kKey) == 0) return true;
  }
  return false;
}

// Like `docker run`, the process exits with the container's code (run, exec): their last output
// is {"exitCode":N,"terminal":true}.
void note_exit_code(std::string_view output_json, int& exit_code) {
  // Log lines never carry the key: look for it before parsing anything.
  if (!mentions_terminal(output_json)) return;
  const nlohmann::json output = nlohmann::json::parse(output_json, nullptr, false);
  if (!output.is_object()) return;
  const auto terminal = output.find("terminal");
  if (terminal == output.end() || !terminal->is_boolean() || !terminal->get<bool>()) return;
  const auto code = output.find("exitCode");
  exit_code = code != output.end() && code->is_number_integer() ? code->get<int>() : 0;
}

}  // namespace

int run_call(const CallCommandOptions& options) {
  auto address = client::parse_address(options.address);
  if (!address) {
    std::fprintf(stderr, "alknet-docker call: %s\n", address.error().c_str());
    return 2;
  }
  nlohmann::json input = nlohmann::json::parse(options.input, nullptr, false);
  if (input.is_discarded()) {
    std::fprintf(stderr, "alknet-docker call: INPUT is not valid JSON: %s\n",
                 options.input.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  static char stdout_buf[1 << 16];
  std::setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

  uv_loop_t* loop = uv_default_loop();
  const bool quic = address.value().kind == client::Address::Kind::quic;
  auto caller = std::make_unique<client::CallClient>(loop, address.value(), options.tls);
  int exit_code = 0;
  std::unique_ptr<Terminal> terminal;
  std::unique_ptr<client::ClientCall> call;

  LineWriter lines(loop);
  client::CallEvents events;
  events.on_output_text = [&exit_code, &lines](std::string_view output_json) {
    note_exit_code(output_json, exit_code);
    lines.add(output_json);
  };
  events.on_raw_open = [&](bool tty) {
    terminal = std::make_unique<Terminal>(loop, *call, tty);
    terminal->start();
  };
  events.on_chunk = [&lines](wire::ChunkType type, std::string_view bytes) {
    lines.flush();
    FILE* out = type == wire::ChunkType::stderr_data ? stderr : stdout;
    std::fwrite(bytes.data(), 1, bytes.size(), out);
    std::fflush(out);
  };
  events.on_control = [](const nlohmann::json& message) {
    // The server's control message, of any shape: only an object with string fields is read.
    if (!message.is_object()) return;
    auto type = message.find("type");
    if (type == message.end() || !type->is_string() || *type != "error") return;
    auto text = message.find("message");
    std::fprintf(stderr, "alknet-docker call: %s\n",
                 text != message.end() && text->is_string()
                     ? text->get_ref<const std::string&>().c_str()
                     : "error");
  };
  events.on_exit = [&](int code) { exit_code = code < 0 ? kCallErrorExit : code; };
  events.on_drain = [&] {
    if (terminal) terminal->resume_input();
  };
  events.on_end = [&](std::optional<call::CallError> error) {
    lines.flush();
    std::fflush(stdout);
    if (error) {
      print_error(*error);
      exit_code = kCallErrorExit;
    }
    if (terminal) terminal->stop();
    // A QUIC client holds the loop a little longer for the ACKs it owes; the CONNECTION_CLOSE
    // sent below makes those moot. (A unix socket still gets its clean shutdown.)
    if (quic) uv_stop(loop);
  };
  client::CallOptions call_options;
  call_options.carriage = options.raw ? call::Carriage::raw : call::Carriage::json;
  call_options.auth_token = options.auth_token;
  call = caller->call(options.operation, std::move(input), std::move(events), call_options);

  uv_run(loop, UV_RUN_DEFAULT);
  lines.close();
  std::fflush(stdout);
  terminal.reset();
  call.reset();
  caller.reset();  // a QUIC connection sends its CONNECTION_CLOSE and closes its handles
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return exit_code;
}

}  // namespace alk::server

#include "ops/raw_bridge.h"

#include <array>
#include <utility>

namespace alk::ops {

namespace {

// The signal names of the raw carriage's control messages.
constexpr std::array<std::string_view, 9> kSignals = {"HUP",  "INT",  "QUIT", "TERM", "KILL",
                                                      "USR1", "USR2", "TSTP", "CONT"};

// The character a terminal in its default mode turns into `name`, or 0.
char tty_key_of(std::string_view name) {
  if (name == "INT") return '\x03';
  if (name == "QUIT") return '\x1c';
  if (name == "TSTP") return '\x1a';
  return 0;
}

// A terminal size component: an integer in 1..65535.
std::optional<int> dimension(const nlohmann::json& message, const char* key) {
  auto it = message.find(key);
  if (it == message.end() || !it->is_number_integer()) return std::nullopt;
  const auto v = it->get<int64_t>();
  if (v < 1 || v > 65535) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

RawBridge::RawBridge(Services& services, call::CallSink& sink, RawBridgeOptions options)
    : services_(services),
      sink_(sink),
      options_(std::move(options)),
      pump_(sink, {.tty = options_.tty, .raw_chunks = true}),
      controls_(*services.docker),
      drain_grace_(services.loop) {}

RawBridge::~RawBridge() = default;

void RawBridge::open(docker::Request request, std::function<void()> on_output_end) {
  on_output_end_ = std::move(on_output_end);
  docker::HijackHandlers h;
  h.on_open = [this](const docker::Response& head) { opened(head); };
  h.on_data = [this](std::string_view bytes) { data(bytes); };
  h.on_drain = [this] {
    if (!input_paused_) return;
    input_paused_ = false;
    sink_.resume_input();
  };
  h.on_end = [this](std::optional<docker::Error> error) { ended(std::move(error)); };
  conn_ = services_.docker->hijack(std::move(request), std::move(h));
}

void RawBridge::opened(const docker::Response& head) {
  if (done_) return;
  const bool tty = stream_is_tty(*services_.docker, head, options_.tty);
  pump_.set_tty(tty);
  pump_.set_source(conn_.get());
  open_ = true;
  sink_.begin_raw(tty);
  if (stdin_ended_) end_stdin();
  arm_drain_grace();
}

void RawBridge::data(std::string_view bytes) {
  if (done_) return;
  if (!pump_.feed(bytes)) {
    fail(call::CallError::make(call::codes::kDockerError, pump_.error()));
    return;
  }
  if (pump_.paused()) {
    drain_grace_.stop();
  } else {
    arm_drain_grace();
  }
}

void RawBridge::ended(std::optional<docker::Error> error) {
  if (done_) return;
  if (error) {
    fail(to_call_error(*error, options_.subject));
  } else if (!pump_.finish()) {
    fail(call::CallError::make(call::codes::kDockerError, pump_.error()));
  } else {
    output_finished();
  }
}

void RawBridge::output_finished() {
  output_done_ = true;
  drain_grace_.stop();
  pump_.set_source(nullptr);
  conn_.reset();  // the client allows this from inside the connection's own callback
  if (auto notify = std::move(on_output_end_)) notify();
  maybe_finish();
}

void RawBridge::set_exit_code(int code) {
  if (done_ || exit_code_) return;
  exit_code_ = code;
  arm_drain_grace();
  maybe_finish();
}

void RawBridge::maybe_finish() {
  if (done_ || !output_done_ || !exit_code_) return;
  done_ = true;
  release();
  sink_.finish_raw(*exit_code_);
}

void RawBridge::arm_drain_grace() {
  if (options_.exit_drain_grace_ms == 0 || done_ || !open_ || output_done_ || !exit_code_ ||
      pump_.paused()) {
    return;
  }
  drain_grace_.start(options_.exit_drain_grace_ms, [this] { output_finished(); });
}

void RawBridge::fail(const call::CallError& error) {
  if (done_) return;
  done_ = true;
  release();
  if (!open_) {
    sink_.fail(error);
    return;
  }
  const nlohmann::json msg = {{"type", "error"}, {"code", error.code}, {"message", error.message}};
  sink_.send_chunk(wire::ChunkType::control_out, msg.dump());
  sink_.finish_raw(-1);
}

void RawBridge::release() {
  drain_grace_.stop();
  pump_.set_source(nullptr);
  conn_.reset();
  controls_.cancel_all();
}

void RawBridge::cancel() {
  done_ = true;
  release();
}

void RawBridge::on_writable() {
  if (done_) return;
  pump_.on_writable();
  arm_drain_grace();
}

void RawBridge::on_stdin(std::string_view bytes) {
  if (done_ || !options_.stdin || stdin_ended_ || bytes.empty()) return;
  write_stdin(bytes);
}

void RawBridge::write_stdin(std::string_view bytes) {
  if (!conn_) return;
  // Before the switch the client holds the bytes back, so nothing leaks into the request.
  conn_->append(bytes);
  if (!input_paused_ && conn_->write_queue_bytes() > kStdinHighWater) {
    input_paused_ = true;
    sink_.pause_input();
  }
}

void RawBridge::on_stdin_end() {
  if (done_ || stdin_ended_) return;
  stdin_ended_ = true;
  if (open_) end_stdin();
}

void RawBridge::end_stdin() {
  if (!options_.stdin || !conn_) return;
  switch (options_.stdin_end) {
    case StdinEnd::half_close:
      conn_->shutdown_write();
      break;
    case StdinEnd::tty_eof:
      conn_->write(std::string(1, '\x04'));
      break;
    case StdinEnd::keep_open:
      break;
  }
}

void RawBridge::on_control(const nlohmann::json& message) {
  if (done_ || !open_) return;
  const std::string type = message.value("type", "");
  if (type == "resize") {
    resize(message);
  } else if (type == "signal") {
    signal(message);
  }
  // Unknown types are ignored, as the protocol asks.
}

void RawBridge::resize(const nlohmann::json& message) {
  const auto cols = dimension(message, "cols");
  const auto rows = dimension(message, "rows");
  if (!cols || !rows || options_.resize_path.empty()) return;
  docker::Request req;
  req.method = "POST";
  req.path = options_.resize_path;
  req.add_query("h", std::to_string(*rows)).add_query("w", std::to_string(*cols));
  controls_.send(std::move(req));
}

void RawBridge::signal(const nlohmann::json& message) {
  auto it = message.find("name");
  if (it == message.end() || !it->is_string()) return;
  std::string_view name = it->get_ref<const std::string&>();
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  bool known = false;
  for (auto s : kSignals) known = known || s == name;
  if (!known) return;
  switch (options_.signals) {
    case SignalRoute::none:
      break;
    case SignalRoute::kill_container: {
      docker::Request req;
      req.method = "POST";
      req.path = options_.kill_path;
      req.add_query("signal", "SIG" + std::string(name));
      controls_.send(std::move(req));
      break;
    }
    case SignalRoute::tty_keys:
      if (const char key = tty_key_of(name); key && options_.stdin && !stdin_ended_) {
        write_stdin(std::string_view(&key, 1));
      }
      break;
  }
}

}  // namespace alk::ops

#include "server/call_command.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "client/call_client.h"
#include "server/terminal.h"

namespace alk::server {

namespace {

// Like the docker CLI's 125: the call failed, as opposed to a container exiting non-zero.
constexpr int kCallErrorExit = 125;

void print_error(const call::CallError& e) {
  std::fprintf(stderr, "%s\n", nlohmann::json({{"error", e.to_payload()}}).dump().c_str());
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
    std::fprintf(stderr, "alknet-docker call: INPUT is not valid JSON: %s\n", options.input.c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  static char stdout_buf[1 << 16];
  std::setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

  uv_loop_t* loop = uv_default_loop();
  auto caller = std::make_unique<client::CallClient>(loop, address.value(), options.tls);
  int exit_code = 0;
  std::unique_ptr<Terminal> terminal;
  std::unique_ptr<client::ClientCall> call;

  client::CallEvents events;
  events.on_output = [&exit_code](const nlohmann::json& output) {
    // Like `docker run`, the process exits with the container's code (run, exec).
    if (output.is_object() && output.value("terminal", false)) exit_code = output.value("exitCode", 0);
    const std::string line = output.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  };
  events.on_raw_open = [&](bool tty) {
    terminal = std::make_unique<Terminal>(loop, *call, tty);
    terminal->start();
  };
  events.on_chunk = [](wire::ChunkType type, std::string_view bytes) {
    FILE* out = type == wire::ChunkType::stderr_data ? stderr : stdout;
    std::fwrite(bytes.data(), 1, bytes.size(), out);
    std::fflush(out);
  };
  events.on_control = [](const nlohmann::json& message) {
    if (message.value("type", "") == "error") {
      std::fprintf(stderr, "alknet-docker call: %s\n", message.value("message", "error").c_str());
    }
  };
  events.on_exit = [&](int code) { exit_code = code < 0 ? kCallErrorExit : code; };
  events.on_drain = [&] {
    if (terminal) terminal->resume_input();
  };
  events.on_end = [&](std::optional<call::CallError> error) {
    std::fflush(stdout);
    if (error) {
      print_error(*error);
      exit_code = kCallErrorExit;
    }
    if (terminal) terminal->stop();
  };
  client::CallOptions call_options;
  call_options.carriage = options.raw ? call::Carriage::raw : call::Carriage::json;
  call_options.auth_token = options.auth_token;
  call = caller->call(options.operation, std::move(input), std::move(events), call_options);

  uv_run(loop, UV_RUN_DEFAULT);
  std::fflush(stdout);
  terminal.reset();
  call.reset();
  caller.reset();  // a QUIC connection sends its CONNECTION_CLOSE and closes its handles
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return exit_code;
}

}  // namespace alk::server

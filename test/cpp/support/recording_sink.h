// A CallSink that records everything a handler answers, for tests that drive handlers in-process.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "call/operation.h"

namespace alk::test {

class RecordingSink : public call::CallSink {
 public:
  std::vector<nlohmann::json> outputs;  ///< every call.responded output, in order
  bool completed = false;
  std::optional<call::CallError> error;
  bool raw_started = false;
  bool tty = false;
  std::string raw_stdout, raw_stderr;
  std::vector<nlohmann::json> control_out;  ///< control chunks other than exit
  std::optional<int> exit_code;             ///< from finish_raw
  size_t raw_stdout_at_exit = 0;            ///< raw_stdout.size() when finish_raw ran
  size_t raw_stderr_at_exit = 0;            ///< raw_stderr.size() when finish_raw ran
  int terminal_count = 0;                   ///< must end at 1
  bool congested = false;                   ///< makes writable() false (backpressure tests)
  bool input_paused = false;
  call::OpKind kind = call::OpKind::subscription;

  /// True once the call reached its terminal answer.
  bool done() const { return terminal_count > 0; }

  /// Concatenated "text" (or decoded "base64") of output events of `stream`.
  std::string text_of(const std::string& stream) const;

  void respond(const nlohmann::json& output) override {
    outputs.push_back(output);
    if (kind != call::OpKind::subscription) ++terminal_count;
  }
  void respond_json_text(std::string_view output_json) override {
    respond(nlohmann::json::parse(output_json));
  }
  void complete() override {
    completed = true;
    ++terminal_count;
  }
  void fail(const call::CallError& e) override {
    error = e;
    ++terminal_count;
  }
  bool writable() const override { return !congested; }
  void begin_raw(bool is_tty) override {
    raw_started = true;
    tty = is_tty;
  }
  void send_chunk(wire::ChunkType type, std::string_view bytes) override;
  void finish_raw(int code) override {
    exit_code = code;
    raw_stdout_at_exit = raw_stdout.size();
    raw_stderr_at_exit = raw_stderr.size();
    ++terminal_count;
  }
  void pause_input() override { input_paused = true; }
  void resume_input() override { input_paused = false; }
};

}  // namespace alk::test

// A test fixture with a real Engine on its own libuv loop, talking to the real dockerd.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ops/engine.h"
#include "support/recording_sink.h"

namespace alk::test {

/// The test image (ALK_TEST_IMAGE, default alknet-test/busybox:latest), made by docker-up.sh.
std::string test_image();

/// Runs a shell command, returns its stdout (trailing newline trimmed); fails the test on a
/// non-zero exit unless `allow_fail`.
std::string sh(const std::string& command, bool allow_fail = false);

/// A call in progress, driven in-process (no framing): the handler and the sink that records it.
struct LiveCall {
  RecordingSink sink;
  std::unique_ptr<call::Handler> handler;
  std::optional<call::CallError> prepare_error;  ///< set when the registry refused the call
};

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;  ///< closes the engine, asserts every libuv handle closed

  /// Starts `op` with `input` (validated as the server would) and returns the live call.
  std::unique_ptr<LiveCall> start(const std::string& op, nlohmann::json input,
                                  call::Carriage carriage = call::Carriage::json,
                                  call::Peer peer = {});

  /// start(), then runs the loop until the call is done (fails the test after `timeout`).
  std::unique_ptr<LiveCall> call(const std::string& op, nlohmann::json input,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// Runs the loop until `done()` is true; false on timeout.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// Creates a container from the test image with `command` (shell words), labelled
  /// alknet.test=1; returns its id. Extra `docker create` flags go in `flags`.
  std::string create_container(const std::string& command, const std::string& flags = "");

  uv_loop_t loop_{};
  std::unique_ptr<ops::Engine> engine_;
  std::vector<std::string> containers_;  ///< removed in TearDown
};

}  // namespace alk::test

// A test fixture that serves a registry of test operations over a real unix socket, on its own
// libuv loop, with the loop-running helper the tests drive it with.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "call/registry.h"
#include "call/session.h"
#include "transport/unix_listener.h"
#include "util/deferrer.h"

namespace alk::test {

/// A libuv loop, a Deferrer and a UnixListener whose every connection is a call::CallSession over
/// `registry_`. A derived fixture's SetUp calls UnixSessionFixture::SetUp() first (wrapped in
/// ASSERT_NO_FATAL_FAILURE), adds its operations to `registry_`, then calls listen().
class UnixSessionFixture : public ::testing::Test {
 protected:
  /// Initialises `loop_` and `deferrer_`; no socket yet.
  void SetUp() override;

  /// Closes the listener (dropping its connections) and the deferrer, running the loop until
  /// both are released, then expects uv_loop_close to succeed: a handle left open fails the test.
  void TearDown() override;

  /// Listens on /tmp/<name>-<pid>.sock (kept in `path_`); fails the test (fatally) when it
  /// cannot. `on_call_end`, when set, gets each session's call record. Call once, from SetUp,
  /// after the operations are registered.
  void listen(const std::string& name,
              std::function<void(const call::CallRecord&)> on_call_end = nullptr);

  /// Runs the loop until `done()` holds or `timeout_ms` of loop time passed; returns `done()`.
  /// A repeating 5 ms timer keeps the loop turning while nothing else is pending; it is closed
  /// again before returning.
  bool run_until(const std::function<bool()>& done, int timeout_ms = 5000);

  uv_loop_t loop_{};
  std::unique_ptr<Deferrer> deferrer_;
  call::Registry registry_;
  std::unique_ptr<transport::UnixListener> listener_;
  std::string path_;  ///< the socket's path, set by listen()
};

}  // namespace alk::test

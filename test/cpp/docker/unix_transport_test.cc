// The call layer over a unix socket against the real daemon: what ends a connection. A call that
// fails while its stdin waits in the socket must still let the connection go once the client
// closes it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "call/session.h"
#include "client/call_client.h"
#include "support/call_outcome.h"
#include "support/engine_fixture.h"
#include "transport/unix_listener.h"

namespace alk::test {
namespace {

using namespace std::chrono_literals;

class UnixTransportTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    if (HasFatalFailure()) return;
    socket_ = "/tmp/alk-unix-transport-test-" + std::to_string(::getpid()) + ".sock";
    listener_ = std::make_unique<transport::UnixListener>(
        &loop_, socket_, [this](transport::ByteStream& stream) {
          call::SessionEnv env;
          env.registry = &engine_->registry();
          env.deferrer = &engine_->deferrer();
          return std::make_unique<call::CallSession>(stream, std::move(env));
        });
    auto ok = listener_->listen();
    ASSERT_TRUE(ok.ok()) << ok.error();
    auto address = client::parse_address("unix://" + socket_);
    ASSERT_TRUE(address.ok());
    client_ = std::make_unique<client::CallClient>(&loop_, address.value());
  }

  void TearDown() override {
    calls_.clear();
    client_.reset();
    if (listener_) {
      bool closed = false;
      listener_->close(/*drop=*/true, [&] { closed = true; });
      run_until([&] { return closed; }, 10s);
    }
    EngineFixture::TearDown();
  }

  std::string socket_;
  std::unique_ptr<transport::UnixListener> listener_;
  std::unique_ptr<client::CallClient> client_;
  std::vector<std::unique_ptr<client::ClientCall>> calls_;
};

// Stdin that arrives while the server sets up the docker side of a raw call waits in the socket
// (the session stops reading). When the call then fails before the switch to raw, the session
// must read on: else it never sees the client's end of the connection, and keeps the socket and
// the session until the server stops.
TEST_F(UnixTransportTest, ARawCallThatFailsWhileItsStdinWaitsStillLetsTheConnectionGo) {
  client::CallOptions options;
  options.carriage = call::Carriage::raw;
  constexpr int kCalls = 8;
  for (int i = 0; i < kCalls; ++i) {
    CallOutcome out;
    calls_.push_back(
        client_->call("docker/container/exec",
                      {{"containerId", "alknet-no-such-container"}, {"command", {"cat"}}},
                      record_into(out), options));
    // The exec's docker request is in flight: the server is preparing the raw carriage.
    ASSERT_TRUE(run_until([&] { return engine_->docker().stats().busy > 0 || out.ended; }, 10s));
    calls_.back()->send_stdin("stdin while the server prepares\n");
    calls_.back()->end_stdin();
    ASSERT_TRUE(run_until([&] { return out.ended; }, 30s)) << out.describe();
    EXPECT_EQ(out.code(), "CONTAINER_NOT_FOUND") << out.describe();
    calls_.clear();  // the client lets go of the call and its connection
  }
  EXPECT_TRUE(run_until([&] { return listener_->connections() == 0; }, 5s))
      << listener_->connections() << " of " << kCalls << " connections still open on the server";
}

}  // namespace
}  // namespace alk::test

// Many calls opened at once over the unix transport: the listener's accept queue and the client's
// retry of a connect the full queue turned away (EAGAIN) let every one of them through.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "client/call_client.h"
#include "support/unix_session_fixture.h"

namespace alk {
namespace {

using nlohmann::json;

// Answers a query with its input.
struct EchoHandler : call::Handler {
  call::CallSink& sink;
  json input;
  EchoHandler(call::CallSink& s, json in) : sink(s), input(std::move(in)) {}
  void start() override { sink.respond(input); }
};

class UnixConnectTest : public test::UnixSessionFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(UnixSessionFixture::SetUp());
    call::OperationSpec echo;
    echo.name = "test/echo";
    echo.kind = call::OpKind::query;
    echo.factory = [](const call::CallRequest& req, call::CallSink& sink) {
      return std::make_unique<EchoHandler>(sink, req.input);
    };
    registry_.add(std::move(echo));
    ASSERT_NO_FATAL_FAILURE(listen("alk-unix-connect-test"));
  }

  // Opens `n` echo calls in one go — all connects are issued before the loop runs, so the
  // listener (on the same loop) accepts none of them meanwhile and its queue fills — and expects
  // each to end successfully with its own input as the answer.
  void open_all_at_once(int n) {
    client::CallClient client(&loop_, client::Address{client::Address::Kind::unix_socket, path_});
    std::vector<std::optional<json>> answers(n);
    std::vector<std::optional<std::optional<call::CallError>>> ends(n);
    std::vector<std::unique_ptr<client::ClientCall>> calls;
    int ended = 0;
    for (int i = 0; i < n; ++i) {
      client::CallEvents ev;
      ev.on_output = [&answers, i](const json& out) { answers[i] = out; };
      ev.on_end = [&ends, &ended, i](std::optional<call::CallError> e) {
        ends[i] = std::move(e);
        ++ended;
      };
      client::CallOptions opt;
      opt.kind = call::OpKind::query;
      calls.push_back(client.call("test/echo", {{"n", i}}, std::move(ev), opt));
    }
    // Generous ceiling: the whole batch takes well under a second when it works.
    ASSERT_TRUE(run_until([&] { return ended == n; }, 30000))
        << ended << " of " << n << " calls ended";
    int failed = 0;
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(ends[i].has_value());
      if (*ends[i]) {
        if (++failed <= 3) ADD_FAILURE() << "call " << i << ": " << (*ends[i])->message;
        continue;
      }
      ASSERT_TRUE(answers[i].has_value()) << "call " << i;
      EXPECT_EQ(*answers[i], json({{"n", i}}));
    }
    EXPECT_EQ(failed, 0) << "of " << n << " calls";
    calls.clear();
    run_until([] { return false; }, 50);  // let the server side close its streams
  }

  static int somaxconn() {
    std::ifstream in("/proc/sys/net/core/somaxconn");
    int v = 0;
    return (in >> v) ? v : 4096;
  }
};

TEST_F(UnixConnectTest, AThousandCallsOpenedAtOnceAllComplete) {
  open_all_at_once(1000);
}

// More connects than the kernel queues for one listener (net.core.somaxconn): the ones turned
// away with EAGAIN are retried until the listener has accepted the earlier ones.
TEST_F(UnixConnectTest, MoreCallsThanTheAcceptQueueHoldsAllComplete) {
  const int n = somaxconn() + 500;
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  // Two descriptors per call (client and server end) and some slack.
  const rlim_t needed = 2 * static_cast<rlim_t>(n) + 200;
  if (files.rlim_cur < needed && files.rlim_max >= needed) {
    files.rlim_cur = needed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &files), 0);
  }
  if (files.rlim_cur < needed) GTEST_SKIP() << "needs " << needed << " open files";
  open_all_at_once(n);
}

}  // namespace
}  // namespace alk

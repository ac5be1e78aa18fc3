// Many calls opened at once over the unix transport: the listener's accept queue and the client's
// retry of a connect the full queue turned away (EAGAIN) let every one of them through.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "client/call_client.h"
#include "support/unix_session_fixture.h"
#include "transport/uv_byte_stream.h"

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

// --- Cancelling connect_unix() while it retries ---------------------------------------------

// Makes a listening unix socket at `path` with the given accept backlog; it never accepts.
// Returns the descriptor, or -1.
int listen_never_accepting(const std::string& path, int backlog) {
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, backlog) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A non-blocking connect to `path`: the descriptor, or -errno.
int connect_nonblocking(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

// A listener that never accepts, whose one-place accept queue (backlog 0) one connection already
// holds: the kernel refuses every further connect with EAGAIN, so connect_unix() keeps retrying
// (for 5 s) until cancelled.
class SaturatedUnixListenerTest : public ::testing::Test {
 protected:
  // Generous ceiling for a cancelled connect to leave the loop: it needs a loop turn or two for
  // close callbacks, against the 5 s of retries it cuts short.
  static constexpr uint64_t kDrainCeilingMs = 1000;

  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    path_ = "/tmp/alk-unix-saturated-test-" + std::to_string(::getpid()) + ".sock";
    listen_fd_ = listen_never_accepting(path_, 0);
    ASSERT_GE(listen_fd_, 0) << std::strerror(errno);
    filler_fd_ = connect_nonblocking(path_);
    ASSERT_GE(filler_fd_, 0) << std::strerror(-filler_fd_);
    const int probe = connect_nonblocking(path_);
    if (probe >= 0) ::close(probe);
    ASSERT_EQ(probe, -EAGAIN) << "the accept queue is not full";
  }

  void TearDown() override {
    if (filler_fd_ >= 0) ::close(filler_fd_);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    ::unlink(path_.c_str());
    // A loop with a handle left open (a retry timer, a pipe) cannot close.
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "libuv handles left open";
  }

  // Runs `fn` from a timer callback `ms` from now (the timer frees itself).
  void after(uint64_t ms, std::function<void()> fn) {
    auto* t = new uv_timer_t;
    uv_timer_init(&loop_, t);
    t->data = new std::function<void()>(std::move(fn));
    uv_timer_start(
        t,
        [](uv_timer_t* timer) {
          auto* f = static_cast<std::function<void()>*>(timer->data);
          (*f)();
          delete f;
          uv_close(reinterpret_cast<uv_handle_t*>(timer),
                   [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        },
        ms, 0);
  }

  // Runs the loop for about `ms`.
  void run_for(uint64_t ms) {
    after(ms, [this] { uv_stop(&loop_); });
    uv_run(&loop_, UV_RUN_DEFAULT);
  }

  // Runs the loop until nothing is left in it; returns how long that took, in ms.
  uint64_t run_to_empty() {
    uv_update_time(&loop_);
    const uint64_t start = uv_now(&loop_);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_update_time(&loop_);
    return uv_now(&loop_) - start;
  }

  uv_loop_t loop_{};
  std::string path_;
  int listen_fd_ = -1;
  int filler_fd_ = -1;
};

TEST_F(SaturatedUnixListenerTest, CancelWhileRetryingEndsTheConnectAtOnceAndNeverCallsDone) {
  int done_calls = 0;
  transport::UnixConnectAttempt attempt =
      transport::connect_unix(&loop_, path_, [&](transport::UvByteStream* s, int) {
        ++done_calls;
        if (s) s->reset();
      });
  run_for(30);
  // Every attempt is refused and retried: 30 ms in, the connect is still going.
  ASSERT_EQ(done_calls, 0);
  ASSERT_TRUE(uv_loop_alive(&loop_));
  attempt.cancel();
  EXPECT_EQ(done_calls, 0) << "cancel() called back synchronously";
  EXPECT_LT(run_to_empty(), kDrainCeilingMs);
  EXPECT_FALSE(uv_loop_alive(&loop_));
  EXPECT_EQ(done_calls, 0);
  attempt.cancel();  // the connect is gone: a no-op
}

// Cancelled from inside another callback, at moments that fall on a pending attempt as well as on
// the wait between attempts.
TEST_F(SaturatedUnixListenerTest, CancelFromATimerCallbackAtAnyPointOfTheRetries) {
  for (uint64_t ms : {0, 1, 2, 3, 4, 6, 9, 15, 31, 47, 80}) {
    int done_calls = 0;
    transport::UnixConnectAttempt attempt = transport::connect_unix(
        &loop_, path_, [&](transport::UvByteStream*, int) { ++done_calls; });
    bool cancelled = false;
    after(ms, [&] {
      attempt.cancel();
      attempt.cancel();  // twice: a no-op
      cancelled = true;
    });
    EXPECT_LT(run_to_empty(), ms + kDrainCeilingMs) << "cancelled after " << ms << " ms";
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(done_calls, 0) << "cancelled after " << ms << " ms";
    EXPECT_FALSE(uv_loop_alive(&loop_));
  }
}

// The first attempt's connect is outstanding (its result comes on a later turn): cancelling
// closes its pipe, and libuv's UV_ECANCELED for it must not reach `done`.
TEST_F(SaturatedUnixListenerTest, CancelBeforeTheLoopRuns) {
  int done_calls = 0;
  transport::UnixConnectAttempt attempt =
      transport::connect_unix(&loop_, path_, [&](transport::UvByteStream*, int) { ++done_calls; });
  attempt.cancel();
  EXPECT_LT(run_to_empty(), kDrainCeilingMs);
  EXPECT_EQ(done_calls, 0);
}

TEST_F(SaturatedUnixListenerTest, CancelInsideAndAfterDoneIsANoOp) {
  transport::UnixConnectAttempt().cancel();  // cancels nothing
  // A listener with room in its queue: the connect succeeds without an accept.
  const std::string open_path = path_ + ".open";
  const int open_fd = listen_never_accepting(open_path, 8);
  ASSERT_GE(open_fd, 0);
  // And a path nothing listens on: the connect fails at once.
  const std::string missing_path = path_ + ".missing";
  ::unlink(missing_path.c_str());

  transport::UnixConnectAttempt connected, failed;
  int connected_calls = 0, failed_calls = 0, failed_status = 0;
  bool stream_closed = false;
  struct Closed : transport::StreamReceiver {
    bool* closed;
    explicit Closed(bool* c) : closed(c) {}
    size_t on_bytes(std::string_view b) override { return b.size(); }
    void on_fin() override {}
    void on_reset() override {}
    void on_drain() override {}
    void on_closed() override { *closed = true; }
  };
  connected = transport::connect_unix(&loop_, open_path, [&](transport::UvByteStream* s, int) {
    ++connected_calls;
    connected.cancel();
    ASSERT_NE(s, nullptr);
    s->adopt_receiver(std::make_unique<Closed>(&stream_closed));
    s->reset();
  });
  failed = transport::connect_unix(&loop_, missing_path, [&](transport::UvByteStream* s, int st) {
    ++failed_calls;
    failed_status = st;
    failed.cancel();
    EXPECT_EQ(s, nullptr);
  });
  EXPECT_LT(run_to_empty(), kDrainCeilingMs);
  EXPECT_EQ(connected_calls, 1);
  EXPECT_TRUE(stream_closed);  // cancel() inside done left the stream it got alone
  EXPECT_EQ(failed_calls, 1);
  EXPECT_EQ(failed_status, UV_ENOENT);
  connected.cancel();
  failed.cancel();
  run_to_empty();
  EXPECT_EQ(connected_calls, 1);
  EXPECT_EQ(failed_calls, 1);
  ::close(open_fd);
  ::unlink(open_path.c_str());
}

// Through the C++ client: calls on unix:// whose connects are retrying are cancelled by
// ClientCall::cancel() and by destroying the call, before or after the client is gone.
TEST_F(SaturatedUnixListenerTest, CancelledOrDestroyedClientCallsStopTheirConnects) {
  int ends = 0;
  auto client = std::make_unique<client::CallClient>(
      &loop_, client::Address{client::Address::Kind::unix_socket, path_});
  auto open = [&] {
    client::CallEvents ev;
    ev.on_end = [&ends](std::optional<call::CallError>) { ++ends; };
    return client->call("test/echo", json::object(), std::move(ev));
  };
  std::unique_ptr<client::ClientCall> cancelled = open();
  std::unique_ptr<client::ClientCall> destroyed_first = open();
  std::unique_ptr<client::ClientCall> destroyed_later = open();
  run_for(30);
  ASSERT_EQ(ends, 0);  // still retrying
  cancelled->cancel();
  destroyed_first.reset();
  client.reset();
  destroyed_later.reset();
  cancelled.reset();
  EXPECT_LT(run_to_empty(), kDrainCeilingMs);
  EXPECT_EQ(ends, 0);
  EXPECT_FALSE(uv_loop_alive(&loop_));
}

}  // namespace
}  // namespace alk

#include "support/unix_session_fixture.h"

#include <unistd.h>

namespace alk::test {

void UnixSessionFixture::SetUp() {
  ASSERT_EQ(uv_loop_init(&loop_), 0);
  deferrer_ = std::make_unique<Deferrer>(&loop_);
}

void UnixSessionFixture::listen(const std::string& name,
                                std::function<void(const call::CallRecord&)> on_call_end) {
  path_ = "/tmp/" + name + "-" + std::to_string(::getpid()) + ".sock";
  listener_ = std::make_unique<transport::UnixListener>(
      &loop_, path_, [this, on_call_end = std::move(on_call_end)](transport::ByteStream& s) {
        call::SessionEnv env;
        env.registry = &registry_;
        env.deferrer = deferrer_.get();
        env.on_call_end = on_call_end;
        return std::make_unique<call::CallSession>(s, env);
      });
  ASSERT_TRUE(listener_->listen().ok());
}

void UnixSessionFixture::TearDown() {
  // Only the teardown's own waits use this ceiling: they end as soon as the close callbacks ran.
  constexpr int kCloseTimeoutMs = 30000;
  if (listener_) {
    bool closed = false;
    listener_->close(true, [&] { closed = true; });
    run_until([&] { return closed; }, kCloseTimeoutMs);
  }
  if (deferrer_) {
    bool deferrer_closed = false;
    deferrer_->close([&] { deferrer_closed = true; });
    run_until([&] { return deferrer_closed; }, kCloseTimeoutMs);
  }
  EXPECT_EQ(uv_loop_close(&loop_), 0) << "libuv handles left open";
}

bool UnixSessionFixture::run_until(const std::function<bool()>& done, int timeout_ms) {
  uv_timer_t tick;
  uv_timer_init(&loop_, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  const uint64_t deadline = uv_now(&loop_) + timeout_ms;
  while (!done() && uv_now(&loop_) < deadline) uv_run(&loop_, UV_RUN_ONCE);
  // The stack timer's close completes in this NOWAIT turn, before `tick` goes out of scope.
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  return done();
}

}  // namespace alk::test

#include "support/engine_fixture.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace alk::test {

std::string test_image() {
  const char* env = std::getenv("ALK_TEST_IMAGE");
  return env && *env ? env : "alknet-test/busybox:latest";
}

std::string sh(const std::string& command, bool allow_fail) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "popen failed: " << command;
    return out;
  }
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  if (rc != 0 && !allow_fail) ADD_FAILURE() << "command failed (" << rc << "): " << command;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

void EngineFixture::SetUp() {
  ASSERT_EQ(uv_loop_init(&loop_), 0);
  auto endpoint = docker::endpoint_from_env();
  ASSERT_TRUE(endpoint.ok()) << endpoint.error();
  ops::EngineOptions options;
  options.endpoint = endpoint.value();
  engine_ = std::make_unique<ops::Engine>(&loop_, options);
}

void EngineFixture::TearDown() {
  for (const auto& id : containers_) sh("docker rm -f " + id + " >/dev/null 2>&1", true);
  bool closed = false;
  engine_->close([&] { closed = true; });
  run_until([&] { return closed; }, std::chrono::seconds(10));
  EXPECT_TRUE(closed);
  engine_.reset();
  // Every handle must be closed by now: a leak here is a lifetime bug.
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop_), 0) << "libuv handles left open";
}

std::unique_ptr<LiveCall> EngineFixture::start(const std::string& op, nlohmann::json input,
                                               call::Carriage carriage, call::Peer peer) {
  auto live = std::make_unique<LiveCall>();
  call::CallRequest req;
  req.id = "test";
  req.operation = op;
  req.input = std::move(input);
  req.carriage = carriage;
  req.peer = std::move(peer);
  if (const auto* spec = engine_->registry().find(op)) live->sink.kind = spec->kind;
  auto prepared = engine_->registry().prepare(req, live->sink);
  if (!prepared) {
    live->prepare_error = prepared.error();
    live->sink.error = prepared.error();
    live->sink.terminal_count = 1;
    return live;
  }
  live->handler = std::move(prepared).value();
  live->handler->start();
  return live;
}

std::unique_ptr<LiveCall> EngineFixture::call(const std::string& op, nlohmann::json input,
                                              std::chrono::milliseconds timeout) {
  auto live = start(op, std::move(input));
  EXPECT_TRUE(run_until([&] { return live->sink.done(); }, timeout)) << op << " did not finish";
  return live;
}

bool EngineFixture::run_until(const std::function<bool()>& done,
                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A repeating timer keeps uv_run(ONCE) from blocking forever when nothing else is pending.
  uv_timer_t tick;
  uv_timer_init(&loop_, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 10, 10);
  bool ok = true;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ok = false;
      break;
    }
    uv_run(&loop_, UV_RUN_ONCE);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  return ok;
}

std::string EngineFixture::create_container(const std::string& command, const std::string& flags) {
  std::string id = sh("docker create --label alknet.test=1 --network none " + flags + " " +
                      test_image() + " " + command);
  if (!id.empty()) containers_.push_back(id);
  return id;
}

}  // namespace alk::test

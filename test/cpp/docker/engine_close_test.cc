// Engine::close against the real daemon: a run cancelled or retired as the engine closes still
// has its container force-removed before the close callback, and a background request that never
// answers holds the close only until the deadline.
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/engine_fixture.h"

namespace alk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class EngineClose : public EngineFixture {
 protected:
  void TearDown() override {
    // A test that closed the engine leaves a fresh one for the fixture to close.
    if (closed_) reopen();
    EngineFixture::TearDown();
  }

  // `sh -c 'echo started; exec sleep 1000'` on the test image, labelled for this test.
  json sleeper() {
    return {{"image", test_image()},
            {"command", {"sh", "-c", "echo started; exec sleep 1000"}},
            {"networkMode", "none"},
            {"labels", {{"alknet-test", label_}}}};
  }

  // Starts a run and waits for its container's first output; returns the call and its id (kept
  // for TearDown's removal in case the test fails).
  std::unique_ptr<LiveCall> start_sleeper(std::string& id) {
    auto live = start("docker/container/run", sleeper());
    EXPECT_TRUE(run_until([&] { return live->sink.text_of("stdout") == "started\n"; }, 30s));
    if (!live->sink.outputs.empty() && live->sink.outputs[0].contains("containerId")) {
      id = live->sink.outputs[0]["containerId"];
      containers_.push_back(id);
    }
    return live;
  }

  // Closes the engine and runs the loop until its callback (ceiling 10 s: the drain deadline is
  // 3 s). `at_callback` runs inside the callback.
  bool close_engine(const std::function<void()>& at_callback = {}) {
    bool done = false;
    engine_->close([&] {
      if (at_callback) at_callback();
      done = true;
    });
    closed_ = true;
    return run_until([&] { return done; }, 10s);
  }

  // Asked with the docker CLI, so it can be asked synchronously inside the close callback.
  bool container_exists(const std::string& id) {
    return !sh("docker ps -aq --no-trunc --filter id=" + id).empty();
  }

  // Frees the closed engine and makes a new one on the same loop.
  void reopen() {
    engine_.reset();
    auto endpoint = docker::endpoint_from_env();
    ASSERT_TRUE(endpoint.ok());
    ops::EngineOptions options;
    options.endpoint = endpoint.value();
    engine_ = std::make_unique<ops::Engine>(&loop_, options);
    closed_ = false;
  }

  // The daemon's status for GET /containers/{id}/json, through a fresh engine (0 on no answer).
  int inspect_status(const std::string& id) {
    if (closed_) reopen();
    docker::Request req;
    req.method = "GET";
    req.path = "/containers/" + id + "/json";
    int status = 0;
    auto handle = engine_->docker().send(
        std::move(req),
        [&](Result<docker::Response, docker::Error> r) { status = r ? r.value().status : -1; });
    run_until([&] { return status != 0; }, 20s);
    return status;
  }

  const std::string label_ = "close-" + std::to_string(::getpid());
  bool closed_ = false;
};

TEST_F(EngineClose, RunRetiredIntoTheDeferrerRemovesItsContainerBeforeTheCallback) {
  std::string id;
  auto live = start_sleeper(id);
  ASSERT_FALSE(id.empty());
  // As a session retires a handler: destroyed on the deferrer's next run, which close() does
  // itself, so the force-remove is sent while the engine closes.
  std::shared_ptr<call::Handler> handler(std::move(live->handler));
  engine_->deferrer().post([handler]() mutable { handler.reset(); });
  handler.reset();
  bool existed = true;
  ASSERT_TRUE(close_engine([&] { existed = container_exists(id); }));
  EXPECT_FALSE(existed) << "the container outlived Engine::close";
  EXPECT_EQ(inspect_status(id), 404);
}

TEST_F(EngineClose, RunCancelledJustBeforeCloseRemovesItsContainerBeforeTheCallback) {
  std::string id;
  auto live = start_sleeper(id);
  ASSERT_FALSE(id.empty());
  live->handler->cancel();
  live->handler.reset();
  // The force-remove is pending in the background: close must wait for it, not drop it.
  ASSERT_EQ(engine_->services().background->pending(), 1u);
  bool existed = true;
  ASSERT_TRUE(close_engine([&] { existed = container_exists(id); }));
  EXPECT_FALSE(existed) << "the container outlived Engine::close";
  EXPECT_EQ(inspect_status(id), 404);
}

TEST_F(EngineClose, BackgroundRequestThatNeverAnswersHoldsCloseOnlyUntilTheDeadline) {
  const std::string id = create_container("sleep 1000", "--label alknet-test=" + label_);
  ASSERT_FALSE(id.empty());
  sh("docker start " + id);
  // A next-exit wait on a container that does not exit: no answer before the deadline.
  docker::Request wait;
  wait.method = "POST";
  wait.path = "/containers/" + id + "/wait";
  wait.add_query("condition", "next-exit");
  bool answered = false;
  engine_->services().background->send(
      std::move(wait), [&](Result<docker::Response, docker::Error>) { answered = true; });
  ASSERT_TRUE(close_engine()) << "close did not give up on the request";
  EXPECT_FALSE(answered) << "a request dropped at the deadline got its callback";
  EXPECT_EQ(inspect_status(id), 200) << "the container should be untouched";
}

}  // namespace
}  // namespace alk::test

// The Docker Engine API client against the real daemon (/var/run/docker.sock, or DOCKER_HOST):
// negotiation, one-shot requests, keep-alive, streamed bodies with backpressure, hijacked
// attach with half-close, cancellation from inside callbacks, connection failures, and the same
// over TLS through socat.
#include "docker/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "docker/mux_decoder.h"

namespace alk::docker {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string test_image() {
  const char* image = std::getenv("ALK_TEST_IMAGE");
  return image != nullptr && *image != '\0' ? image : "alknet-test/busybox:latest";
}

Endpoint daemon_endpoint() {
  auto ep = endpoint_from_env();
  return ep ? ep.value() : Endpoint{};
}

uint64_t now_ms() {
  return uv_hrtime() / 1000000;
}

/// A TCP port nobody listens on (bound and released at once).
uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// A plain (no TLS) TCP endpoint on 127.0.0.1:`port`.
Endpoint loopback_tcp(uint16_t port) {
  Endpoint ep;
  ep.kind = Endpoint::Kind::tcp;
  ep.host = "127.0.0.1";
  ep.port = port;
  return ep;
}

/// GET /_ping outside the API version prefix: the one request that needs no negotiation first.
Request ping_request() {
  Request r;
  r.path = "/_ping";
  r.unversioned = true;
  return r;
}

bool port_open(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool have_program(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

/// A child process in its own process group (socat forks one child per connection).
class Spawned {
 public:
  explicit Spawned(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    if (posix_spawnp(&pid_, args[0], nullptr, &attr, args.data(), environ) != 0) pid_ = -1;
    posix_spawnattr_destroy(&attr);
  }
  ~Spawned() { stop(); }
  bool ok() const { return pid_ > 0; }
  void stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);  // the group we created: socat and its per-connection children
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

/// A socat forwarding a local TCP port to the daemon's unix socket, optionally through TLS.
class Forwarder {
 public:
  Forwarder(const std::string& listen_spec, uint16_t port, const std::string& socket_path)
      : port_(port),
        proc_(
            {"socat", "-lf", "/dev/null", "-t", "30", listen_spec, "UNIX-CONNECT:" + socket_path}) {
    for (int i = 0; i < 200 && proc_.ok() && !port_open(port_); ++i) usleep(20 * 1000);
  }
  bool ready() const { return proc_.ok() && port_open(port_); }
  uint16_t port() const { return port_; }
  void kill_now() { proc_.stop(); }

 private:
  uint16_t port_;
  Spawned proc_;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_timer_init(&loop_, &tick_);
    uv_unref(reinterpret_cast<uv_handle_t*>(&tick_));
  }

  void TearDown() override {
    close_client(client_);
    if (!created_.empty()) {
      auto cleaner = std::make_unique<Client>(&loop_, daemon_endpoint());
      for (const auto& id : created_) {
        Request r;
        r.method = "DELETE";
        r.path = "/containers/" + id;
        r.add_query("force", "1").add_query("v", "1");
        call(*cleaner, r);
      }
      close_client(cleaner);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a libuv handle was left open";
  }

  Client& client(Endpoint ep = daemon_endpoint(), ClientOptions options = {}) {
    client_ = std::make_unique<Client>(&loop_, std::move(ep), std::move(options));
    return *client_;
  }

  void close_client(std::unique_ptr<Client>& c) {
    if (!c) return;
    bool done = false;
    c->close([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }, 5000)) << "close() did not complete";
    c.reset();
  }

  /// Runs the loop until `pred` holds or `timeout_ms` passed; a ticking timer keeps it turning.
  bool run_until(const std::function<bool()>& pred, uint64_t timeout_ms = 30000) {
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 5, 5);
    const uint64_t deadline = now_ms() + timeout_ms;
    bool ok = pred();
    while (!ok && now_ms() < deadline) {
      uv_run(&loop_, UV_RUN_ONCE);
      ok = pred();
    }
    uv_timer_stop(&tick_);
    return ok;
  }

  void run_for(uint64_t ms) {
    const uint64_t until = now_ms() + ms;
    run_until([&] { return now_ms() >= until; }, ms + 1000);
  }

  Result<Response, Error> call(Client& c, Request r) {
    std::optional<Result<Response, Error>> out;
    auto h =
        c.send(std::move(r), [&](Result<Response, Error> res) { out.emplace(std::move(res)); });
    if (!run_until([&] { return out.has_value(); })) {
      Error e;
      e.kind = Error::Kind::timeout;
      e.message = "test: no answer";
      return unexpected(e);
    }
    return std::move(*out);
  }

  json call_json(Client& c, Request r, int expect_status = 200) {
    auto res = call(c, std::move(r));
    EXPECT_TRUE(res.ok()) << (res.ok() ? "" : res.error().message);
    if (!res.ok()) return json();
    EXPECT_EQ(res->status, expect_status) << res->body;
    if (res->body.empty()) return json();
    return json::parse(res->body, nullptr, false);
  }

  /// Creates a labelled container (removed at teardown) and returns its id.
  std::string create_container(Client& c, json config) {
    config["Image"] = test_image();
    config["Labels"] = {{"alknet.test", "1"}};
    config["HostConfig"] = {{"NetworkMode", "none"}};  // the test daemon may have no bridge
    Request r;
    r.method = "POST";
    r.path = "/containers/create";
    r.body = config.dump();
    json out = call_json(c, r, 201);
    const std::string id = out.value("Id", "");
    EXPECT_FALSE(id.empty()) << "create failed: " << out.dump();
    if (!id.empty()) created_.push_back(id);
    return id;
  }

  void start_container(Client& c, const std::string& id) {
    Request r;
    r.method = "POST";
    r.path = "/containers/" + id + "/start";
    auto res = call(c, r);
    ASSERT_TRUE(res.ok()) << res.error().message;
    ASSERT_EQ(res->status, 204) << res->body;
  }

  /// Waits for the container to exit (so its logs are complete).
  void wait_container(Client& c, const std::string& id) {
    Request r;
    r.method = "POST";
    r.path = "/containers/" + id + "/wait";
    call_json(c, r, 200);
  }

  static Request logs_request(const std::string& id, bool follow) {
    Request r;
    r.path = "/containers/" + id + "/logs";
    r.add_query("stdout", "1").add_query("stderr", "1").add_query("follow", follow ? "1" : "0");
    return r;
  }

  uv_loop_t loop_{};
  uv_timer_t tick_{};
  std::unique_ptr<Client> client_;
  std::vector<std::string> created_;
};

// --- Negotiation and one-shot requests -------------------------------------------------------

TEST_F(ClientTest, NegotiatesTheApiVersionFromPing) {
  Client& c = client();
  EXPECT_EQ(c.api_version(), "");
  Request r;
  r.path = "/version";
  json v = call_json(c, r);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(c.api_version(), "1.41");  // the 20.10 daemon of the test machine
  EXPECT_TRUE(c.api_at_least("1.41"));
  EXPECT_FALSE(c.api_at_least("1.42"));
  EXPECT_EQ(v.value("ApiVersion", ""), "1.41");
}

TEST_F(ClientTest, RequestsQueuedBeforeNegotiationAllComplete) {
  Client& c = client();
  int answered = 0;
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (int i = 0; i < 5; ++i) {
    Request r;
    r.path = i % 2 == 0 ? "/version" : "/containers/json";
    handles.push_back(c.send(r, [&](Result<Response, Error> res) {
      ASSERT_TRUE(res.ok()) << res.error().message;
      EXPECT_EQ(res->status, 200);
      ++answered;
    }));
  }
  ASSERT_TRUE(run_until([&] { return answered == 5; }));
  EXPECT_EQ(c.api_version(), "1.41");
}

TEST_F(ClientTest, ForcedApiVersionSkipsNegotiation) {
  ClientOptions o;
  o.api_version = "1.41";
  Client& c = client(daemon_endpoint(), o);
  EXPECT_EQ(c.api_version(), "1.41");
  Request r;
  r.path = "/containers/json";
  json list = call_json(c, r);
  EXPECT_TRUE(list.is_array());
}

TEST_F(ClientTest, ForcedApiVersionBelowTheMinimumIsRefused) {
  ClientOptions o;
  o.api_version = "1.40";
  Client& c = client(daemon_endpoint(), o);
  Request r;
  r.path = "/containers/json";
  auto res = call(c, r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::api_version);
}

TEST_F(ClientTest, SendsGetVersionAndContainerList) {
  Client& c = client();
  Request v;
  v.path = "/version";
  json version = call_json(c, v);
  EXPECT_TRUE(version.contains("Version"));
  Request l;
  l.path = "/containers/json";
  l.add_query("all", "1").add_query("filters", R"({"label":["alknet.test=1"]})");
  json list = call_json(c, l);
  EXPECT_TRUE(list.is_array());
}

TEST_F(ClientTest, NotFoundCarriesTheDaemonsMessage) {
  Client& c = client();
  Request r;
  r.path = "/containers/alknet-no-such-container-42/json";
  auto res = call(c, r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 404);
  const Error e = Error::from_response(res.value());
  EXPECT_EQ(e.kind, Error::Kind::http);
  EXPECT_EQ(e.status, 404);
  EXPECT_NE(e.message.find("No such container"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find('{'), std::string::npos) << "the JSON wrapper should be gone";
}

TEST_F(ClientTest, KeepAliveReusesTheIdleConnection) {
  Client& c = client();
  Request r;
  r.path = "/version";
  ASSERT_TRUE(call(c, r).ok());
  EXPECT_EQ(c.stats().idle, 1u);  // the ping's connection carried /version too
  EXPECT_EQ(c.stats().busy, 0u);

  bool done = false;
  auto h = c.send(r, [&](Result<Response, Error> res) {
    EXPECT_TRUE(res.ok());
    done = true;
  });
  // Taken from the pool at once, no new connection.
  EXPECT_EQ(c.stats().idle, 0u);
  EXPECT_EQ(c.stats().busy, 1u);
  ASSERT_TRUE(run_until([&] { return done; }));
  EXPECT_EQ(c.stats().idle, 1u);
  EXPECT_EQ(c.stats().busy, 0u);
}

TEST_F(ClientTest, ChainedSendFromTheCallbackReusesTheConnection) {
  Client& c = client();
  const Request r = ping_request();
  int remaining = 20;
  std::unique_ptr<RequestHandle> h;
  std::function<void()> next = [&] {
    h = c.send(r, [&](Result<Response, Error> res) {
      ASSERT_TRUE(res.ok()) << res.error().message;
      EXPECT_EQ(res->body, "OK");
      EXPECT_LE(c.stats().idle + c.stats().busy, 1u);
      if (--remaining > 0) next();
    });
  };
  next();
  ASSERT_TRUE(run_until([&] { return remaining == 0; }));
  EXPECT_EQ(c.stats().idle, 1u);
}

TEST_F(ClientTest, CancelledSendNeverCallsBack) {
  Client& c = client();
  Request r;
  r.path = "/version";
  bool called = false;
  auto h = c.send(r, [&](Result<Response, Error>) { called = true; });
  h->cancel();
  h.reset();
  run_for(200);
  EXPECT_FALSE(called);
  EXPECT_EQ(c.stats().busy, 0u);
}

TEST_F(ClientTest, HeadersTimeoutEndsABlockedRequest) {
  Client& c = client();
  // PID 1 ignores SIGTERM, so stop?t=3 blocks three seconds before answering.
  const std::string id = create_container(c, {{"Cmd", {"sleep", "60"}}});
  start_container(c, id);
  Request r;
  r.method = "POST";
  r.path = "/containers/" + id + "/stop";
  r.add_query("t", "3");
  r.headers_timeout_ms = 300;
  const uint64_t t0 = now_ms();
  auto res = call(c, r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::timeout) << res.error().message;
  EXPECT_LT(now_ms() - t0, 2000u);
}

TEST_F(ClientTest, CloseWithRequestsInFlightCallsNothing) {
  Client& c = client();
  const std::string id = create_container(c, {{"Cmd", {"sleep", "60"}}});
  start_container(c, id);
  bool called = false;
  Request w;
  w.method = "POST";
  w.path = "/containers/" + id + "/wait";
  auto h1 = c.send(w, [&](Result<Response, Error>) { called = true; });
  auto h2 = c.stream(logs_request(id, true), {nullptr, nullptr, [&](auto) { called = true; }});
  run_for(100);
  EXPECT_EQ(c.stats().busy, 2u);
  bool closed = false;
  c.close([&] { closed = true; });
  ASSERT_TRUE(run_until([&] { return closed; }, 5000));
  EXPECT_FALSE(called);
  h1.reset();
  h2.reset();
  client_.reset();
}

TEST_F(ClientTest, DestroyedWithoutCloseReleasesEverything) {
  Client& c = client();
  bool called = false;
  Request r;
  r.path = "/version";
  auto h = c.send(r, [&](Result<Response, Error>) { called = true; });
  client_.reset();  // the client frees its state once the libuv handles are closed
  run_for(100);
  h.reset();
  EXPECT_FALSE(called);
  // TearDown checks that uv_loop_close() succeeds: no handle was leaked.
}

TEST_F(ClientTest, CloseFromInsideAStreamCallback) {
  Client& c = client();
  Request r;
  r.path = "/events";  // silent until something happens: the head arrives, then nothing
  bool head = false;
  bool ended = false;
  bool closed = false;
  auto h = c.stream(r, {[&](const Response&) {
                          head = true;
                          c.close([&] { closed = true; });
                        },
                        [&](std::string_view) { ADD_FAILURE() << "on_data after close()"; },
                        [&](std::optional<Error>) { ended = true; }});
  ASSERT_TRUE(run_until([&] { return closed; }));
  EXPECT_TRUE(head);
  EXPECT_FALSE(ended);
  h.reset();
  client_.reset();
}

// --- Streamed bodies -----------------------------------------------------------------------------

constexpr size_t kYesLines = 100000;
constexpr size_t kYesBytes = kYesLines * 5;  // "line\n"

TEST_F(ClientTest, StreamsLogsExactly) {
  Client& c = client();
  // The container outlives its output: a 20.10 daemon may end a follow early when the container
  // exits while the follower lags, so the test stops the container itself once every byte arrived.
  const std::string id = create_container(
      c, {{"Cmd", {"sh", "-c", "yes line | head -n " + std::to_string(kYesLines) + "; sleep 60"}}});
  start_container(c, id);
  MuxDecoder mux;
  size_t out = 0;
  size_t err_bytes = 0;
  bool head = false;
  bool ended = false;
  std::optional<Error> error;
  std::unique_ptr<RequestHandle> kill;
  std::optional<int> kill_status;
  auto h = c.stream(logs_request(id, true),
                    {[&](const Response& r) {
                       head = true;
                       EXPECT_EQ(r.status, 200);
                     },
                     [&](std::string_view bytes) {
                       EXPECT_TRUE(head);
                       EXPECT_TRUE(mux.feed(bytes, [&](const MuxPiece& p) {
                         (p.stream == MuxStream::stdout_data ? out : err_bytes) += p.data.size();
                       }));
                       if (out >= kYesBytes && !kill) {
                         // A request sent from inside a stream callback.
                         Request k;
                         k.method = "POST";
                         k.path = "/containers/" + id + "/kill";
                         kill = c.send(k, [&](Result<Response, Error> r) {
                           kill_status = r.ok() ? r->status : -1;
                         });
                       }
                     },
                     [&](std::optional<Error> e) {
                       error = std::move(e);
                       ended = true;
                     }});
  ASSERT_TRUE(run_until([&] { return ended && kill_status; }));
  EXPECT_EQ(kill_status, 204);
  EXPECT_FALSE(error) << error->message;
  EXPECT_FALSE(mux.partial());
  EXPECT_EQ(out, kYesBytes);
  EXPECT_EQ(err_bytes, 0u);
  EXPECT_EQ(c.stats().busy, 0u);  // a stream's connection is not kept
}

TEST_F(ClientTest, AFastStreamIsReadInBatchesEveryByteArriving) {
  Client& c = client();
  // Written while we follow: the daemon sends each line as it comes, one write per line. The
  // container outlives its output (see StreamsLogsExactly); the fixture removes it.
  const std::string id = create_container(
      c, {{"Cmd",
           {"sh", "-c",
            "sleep 0.3; yes line | head -n " + std::to_string(kYesLines) + "; sleep 60"}}});
  MuxDecoder mux;
  start_container(c, id);  // a follow of a container not yet started ends at once on 20.10
  size_t out = 0;
  bool ended = false;
  std::optional<Error> error;
  auto h =
      c.stream(logs_request(id, true),
               {nullptr,
                [&](std::string_view bytes) {
                  EXPECT_TRUE(mux.feed(bytes, [&](const MuxPiece& p) { out += p.data.size(); }));
                },
                [&](std::optional<Error> e) {
                  error = std::move(e);
                  ended = true;
                }});
  ASSERT_TRUE(run_until([&] { return ended || out >= kYesBytes; }));
  EXPECT_FALSE(ended) << (error ? error->message : "ended early");
  EXPECT_EQ(out, kYesBytes);
  EXPECT_FALSE(mux.partial());
  EXPECT_GT(c.stats().batched_reads, 0u);
}

TEST_F(ClientTest, ASlowTrickleIsNeverHeldBack) {
  Client& c = client();
  const std::string id = create_container(
      c, {{"Cmd", {"sh", "-c", "sleep 0.3; for i in 1 2 3 4 5 6; do echo tick; sleep 0.2; done"}}});
  start_container(c, id);
  size_t out = 0;
  bool ended = false;
  MuxDecoder mux;
  auto h = c.stream(logs_request(id, true),
                    {nullptr,
                     [&](std::string_view bytes) {
                       mux.feed(bytes, [&](const MuxPiece& p) { out += p.data.size(); });
                     },
                     [&](std::optional<Error>) { ended = true; }});
  ASSERT_TRUE(run_until([&] { return ended; }));
  EXPECT_EQ(out, 6u * 5);
  EXPECT_EQ(c.stats().batched_reads, 0u);
}

TEST_F(ClientTest, PauseStopsDeliveryAndResumeLosesNothing) {
  Client& c = client();
  const std::string id = create_container(
      c, {{"Cmd", {"sh", "-c", "yes line | head -n " + std::to_string(kYesLines)}}});
  start_container(c, id);
  wait_container(c, id);  // all of it is in the log: the stream would outrun us otherwise
  MuxDecoder mux;
  size_t out = 0;
  bool ended = false;
  bool paused_once = false;
  bool paused = false;
  size_t during_pause = 0;
  std::optional<Error> error;
  std::unique_ptr<BodyStream> h;
  uv_timer_t resume_timer;
  uv_timer_init(&loop_, &resume_timer);
  struct Ctx {
    std::unique_ptr<BodyStream>* h;
    bool* paused;
  } ctx{&h, &paused};
  resume_timer.data = &ctx;
  h = c.stream(logs_request(id, false),
               {nullptr,
                [&](std::string_view bytes) {
                  if (paused) ++during_pause;
                  mux.feed(bytes, [&](const MuxPiece& p) { out += p.data.size(); });
                  if (!paused_once && out > 0) {
                    paused_once = true;
                    paused = true;
                    h->pause();
                    uv_timer_start(
                        &resume_timer,
                        [](uv_timer_t* t) {
                          auto* x = static_cast<Ctx*>(t->data);
                          *x->paused = false;
                          (*x->h)->resume();
                        },
                        200, 0);
                  }
                },
                [&](std::optional<Error> e) {
                  error = std::move(e);
                  ended = true;
                }});
  ASSERT_TRUE(run_until([&] { return ended; }));
  // The timer lives on this stack frame: its close callback must run before the frame ends.
  bool timer_closed = false;
  resume_timer.data = &timer_closed;
  uv_close(reinterpret_cast<uv_handle_t*>(&resume_timer),
           [](uv_handle_t* t) { *static_cast<bool*>(t->data) = true; });
  ASSERT_TRUE(run_until([&] { return timer_closed; }));
  EXPECT_TRUE(paused_once);
  EXPECT_EQ(during_pause, 0u) << "on_data ran while paused";
  EXPECT_FALSE(error) << error->message;
  EXPECT_EQ(out, kYesBytes);
}

TEST_F(ClientTest, PauseOnTheLastBodyByteStillEnds) {
  Client& c = client();
  // /version has a Content-Length body that arrives in one piece: pausing in it leaves only the
  // message end, which resume() must still deliver. Also pauses inside on_head.
  Request r;
  r.path = "/version";
  std::string body;
  bool ended = false;
  std::optional<Error> error;
  std::unique_ptr<BodyStream> h;
  int phase = 0;  // 1: paused in on_head, 2: paused in on_data
  h = c.stream(r, {[&](const Response&) {
                     phase = 1;
                     h->pause();
                   },
                   [&](std::string_view b) {
                     EXPECT_EQ(phase, 1) << "on_data while paused";
                     body.append(b);
                     phase = 2;
                     h->pause();
                   },
                   [&](std::optional<Error> e) {
                     error = std::move(e);
                     ended = true;
                   }});
  ASSERT_TRUE(run_until([&] { return phase == 1; }));
  run_for(50);
  EXPECT_TRUE(body.empty());
  h->resume();
  ASSERT_TRUE(run_until([&] { return phase == 2; }));
  run_for(50);
  EXPECT_FALSE(ended) << "on_end while paused";
  h->resume();
  ASSERT_TRUE(run_until([&] { return ended; }, 5000));
  EXPECT_FALSE(error);
  EXPECT_TRUE(json::parse(body, nullptr, false).contains("ApiVersion")) << body;
}

TEST_F(ClientTest, StreamOfAMissingContainerEndsWithTheDaemonsError) {
  Client& c = client();
  bool head = false;
  std::optional<Error> error;
  bool ended = false;
  auto h = c.stream(logs_request("alknet-no-such-container-42", false),
                    {[&](const Response&) { head = true; }, [&](std::string_view) { head = true; },
                     [&](std::optional<Error> e) {
                       error = std::move(e);
                       ended = true;
                     }});
  ASSERT_TRUE(run_until([&] { return ended; }));
  EXPECT_FALSE(head);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, Error::Kind::http);
  EXPECT_EQ(error->status, 404);
  EXPECT_NE(error->message.find("No such container"), std::string::npos) << error->message;
}

TEST_F(ClientTest, CancelFromInsideOnDataStopsEverything) {
  Client& c = client();
  const std::string id = create_container(
      c, {{"Cmd", {"sh", "-c", "yes line | head -n " + std::to_string(kYesLines)}}});
  start_container(c, id);
  wait_container(c, id);
  int data_calls = 0;
  int end_calls = 0;
  std::unique_ptr<BodyStream> h;
  h = c.stream(logs_request(id, true), {nullptr,
                                        [&](std::string_view) {
                                          ++data_calls;
                                          h.reset();  // destroys the handle mid-callback
                                        },
                                        [&](std::optional<Error>) { ++end_calls; }});
  ASSERT_TRUE(run_until([&] { return data_calls > 0; }));
  EXPECT_EQ(c.stats().busy, 0u);
  EXPECT_EQ(c.stats().hijacked, 0u);
  run_for(200);
  EXPECT_EQ(data_calls, 1);
  EXPECT_EQ(end_calls, 0);
  EXPECT_EQ(c.stats().busy, 0u);
}

// --- Hijacked attach ---------------------------------------------------------------------------

json cat_config() {
  return {{"Cmd", {"cat"}},      {"OpenStdin", true},    {"StdinOnce", true},
          {"AttachStdin", true}, {"AttachStdout", true}, {"AttachStderr", true},
          {"Tty", false}};
}

Request attach_request(const std::string& id) {
  Request r;
  r.method = "POST";
  r.path = "/containers/" + id + "/attach";
  r.add_query("stream", "1")
      .add_query("stdin", "1")
      .add_query("stdout", "1")
      .add_query("stderr", "1");
  return r;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

/// Attaches to a fresh `cat` container, starts it, writes `payload` in 64 KiB pieces, half-closes
/// and collects the echoed stdout. Returns true when on_end ran.
struct EchoOutcome {
  std::string echoed;
  bool opened = false;
  bool ended = false;
  int drains = 0;
  std::optional<Error> error;
  bool mux_ok = true;
  int status = 0;
};

class HijackTest : public ClientTest {
 protected:
  EchoOutcome echo(Client& c, const std::string& payload) {
    EchoOutcome o;
    const std::string id = create_container(c, cat_config());
    if (id.empty()) return o;
    MuxDecoder mux;
    std::unique_ptr<Hijacked> h;
    bool started = false;
    h = c.hijack(attach_request(id),
                 {[&](const Response& head) {
                    o.opened = true;
                    o.status = head.status;
                    // Stdin goes in before the container even starts; the daemon buffers it.
                    for (size_t off = 0; off < payload.size(); off += 64 * 1024) {
                      h->write(payload.substr(off, 64 * 1024));
                    }
                    EXPECT_GT(h->write_queue_bytes(), 0u);
                    h->shutdown_write();
                  },
                  [&](std::string_view bytes) {
                    o.mux_ok = o.mux_ok && mux.feed(bytes, [&](const MuxPiece& p) {
                      if (p.stream == MuxStream::stdout_data) o.echoed.append(p.data);
                    });
                  },
                  [&] { ++o.drains; },
                  [&](std::optional<Error> e) {
                    o.error = std::move(e);
                    o.ended = true;
                  }});
    EXPECT_TRUE(run_until([&] { return o.opened || o.ended; }));
    if (o.opened) {
      start_container(c, id);
      started = true;
    }
    EXPECT_TRUE(run_until([&] { return o.ended; }));
    EXPECT_TRUE(started);
    EXPECT_EQ(c.stats().hijacked, 0u);
    return o;
  }
};

TEST_F(HijackTest, AttachEchoesOneMebibyteThroughHalfClose) {
  Client& c = client();
  const std::string payload = pattern(1 << 20);
  EchoOutcome o = echo(c, payload);
  EXPECT_TRUE(o.opened);
  EXPECT_EQ(o.status, 101);
  EXPECT_FALSE(o.error) << o.error->message;
  EXPECT_TRUE(o.mux_ok);
  EXPECT_EQ(o.echoed.size(), payload.size());
  EXPECT_TRUE(o.echoed == payload) << "echoed bytes differ";
  EXPECT_GE(o.drains, 1);
}

TEST_F(HijackTest, AttachToAMissingContainerIsAnHttpError) {
  Client& c = client();
  bool opened = false;
  std::optional<Error> error;
  bool ended = false;
  auto h = c.hijack(attach_request("alknet-no-such-container-42"),
                    {[&](const Response&) { opened = true; }, nullptr, nullptr,
                     [&](std::optional<Error> e) {
                       error = std::move(e);
                       ended = true;
                     }});
  h->write("stays unsent");
  ASSERT_TRUE(run_until([&] { return ended; }));
  EXPECT_FALSE(opened);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, Error::Kind::http);
  EXPECT_EQ(error->status, 404);
}

TEST_F(HijackTest, CancelFromInsideOnDataOfAHijack) {
  Client& c = client();
  const std::string id = create_container(c, cat_config());
  int data_calls = 0;
  int end_calls = 0;
  bool opened = false;
  std::unique_ptr<Hijacked> h;
  h = c.hijack(attach_request(id), {[&](const Response&) {
                                      opened = true;
                                      h->write("hello\n");
                                    },
                                    [&](std::string_view) {
                                      ++data_calls;
                                      h.reset();
                                    },
                                    nullptr, [&](std::optional<Error>) { ++end_calls; }});
  ASSERT_TRUE(run_until([&] { return opened; }));
  EXPECT_EQ(c.stats().hijacked, 1u);
  start_container(c, id);
  ASSERT_TRUE(run_until([&] { return data_calls > 0; }));
  EXPECT_EQ(c.stats().hijacked, 0u);
  EXPECT_EQ(c.stats().busy, 0u);
  run_for(200);
  EXPECT_EQ(data_calls, 1);
  EXPECT_EQ(end_calls, 0);
}

// --- Unreachable daemons ------------------------------------------------------------------------

TEST_F(ClientTest, DeadSocketPathIsUnavailableAtOnce) {
  Endpoint ep;
  ep.path = "/tmp/alknet-no-such-dir/docker.sock";
  Client& c = client(ep);
  const uint64_t t0 = now_ms();
  Request r;
  r.path = "/version";
  auto res = call(c, r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::unavailable) << res.error().message;
  EXPECT_LT(now_ms() - t0, 1000u);
  EXPECT_NE(res.error().message.find("ENOENT"), std::string::npos) << res.error().message;

  // Negotiation is retried by the next request, and fails the same way.
  auto again = call(c, r);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, Error::Kind::unavailable);
}

TEST_F(ClientTest, StaleSocketFileIsUnavailable) {
  const std::string path = "/tmp/alknet-stale-" + std::to_string(getpid()) + ".sock";
  ::unlink(path.c_str());
  {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);  // the file stays, nobody listens
  }
  Endpoint ep;
  ep.path = path;
  Client& c = client(ep);
  const uint64_t t0 = now_ms();
  std::optional<Error> error;
  bool ended = false;
  auto h = c.stream(logs_request("x", true), {nullptr, nullptr, [&](std::optional<Error> e) {
                                                error = std::move(e);
                                                ended = true;
                                              }});
  ASSERT_TRUE(run_until([&] { return ended; }));
  ::unlink(path.c_str());
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind, Error::Kind::unavailable) << error->message;
  EXPECT_LT(now_ms() - t0, 1000u);
}

TEST_F(ClientTest, ClosedTcpPortIsUnavailable) {
  Client& c = client(loopback_tcp(free_port()));
  const uint64_t t0 = now_ms();
  auto res = call(c, ping_request());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::unavailable) << res.error().message;
  EXPECT_LT(now_ms() - t0, 1000u);
}

/// A TCP listener that never accepts: the kernel completes connections, nobody answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST_F(ClientTest, TimeoutsCountFromTheRequestNotFromAStaleLoopTime) {
  // The embedder (Node) may run for long without the loop updating its clock; a request made
  // right after must still get its whole connect and headers time.
  ClientOptions o;
  o.connect_timeout_ms = 300;
  o.headers_timeout_ms = 300;
  Client& c = client(daemon_endpoint(), o);
  const Request r = ping_request();
  ASSERT_TRUE(call(c, r).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // the loop's time is now stale
  for (int i = 0; i < 3; ++i) {
    auto res = call(c, r);
    EXPECT_TRUE(res.ok()) << res.error().message;
  }
}

TEST_F(ClientTest, SilentServerHitsTheHeadersTimeout) {
  SilentListener silent;
  ClientOptions o;
  o.headers_timeout_ms = 200;
  Client& c = client(loopback_tcp(silent.port()), o);
  const uint64_t t0 = now_ms();
  auto res = call(c, ping_request());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::timeout) << res.error().message;
  EXPECT_GE(now_ms() - t0, 190u);
  EXPECT_LT(now_ms() - t0, 2000u);
}

// A server that answers its first connection with a status line and then headers without end,
// until the client goes away: a broken or hostile endpoint on DOCKER_HOST.
class EndlessHeadServer {
 public:
  EndlessHeadServer() {
    thread_ = std::thread([this] {
      const int conn = accept(listener_fd(), nullptr, nullptr);
      if (conn < 0) return;
      char request[4096];
      (void)!recv(conn, request, sizeof request, 0);
      std::string head = "HTTP/1.1 200 OK\r\n";
      const std::string pad = "X-Pad: " + std::string(1000, 'v') + "\r\n";
      for (int i = 0; i < 100000; ++i) {  // ~100 MB at most, never reached
        head += pad;
        if (send(conn, head.data(), head.size(), MSG_NOSIGNAL) < 0) break;
        sent_ += head.size();
        head.clear();
      }
      ::close(conn);
    });
  }
  ~EndlessHeadServer() { thread_.join(); }
  uint16_t port() const { return listener_.port(); }
  size_t sent() const { return sent_; }

 private:
  int listener_fd() const { return listener_.fd(); }
  SilentListener listener_;
  std::atomic<size_t> sent_{0};
  std::thread thread_;
};

TEST_F(ClientTest, AnEndlessResponseHeadIsAProtocolErrorNotUnboundedMemory) {
  EndlessHeadServer server;
  ClientOptions o;
  o.api_version = "1.41";  // no negotiation: the request itself meets the endless head
  Client& c = client(loopback_tcp(server.port()), o);
  auto res = call(c, ping_request());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::protocol) << res.error().message;
  EXPECT_NE(res.error().message.find("response head larger than 65536 bytes"), std::string::npos)
      << res.error().message;
  close_client(client_);  // the server's next send fails and its thread ends
}

TEST_F(ClientTest, ConnectTimeoutCoversTheTlsHandshake) {
  SilentListener silent;
  Endpoint ep = loopback_tcp(silent.port());
  ep.tls = true;  // no verification: the handshake never gets that far
  ClientOptions o;
  o.connect_timeout_ms = 200;
  Client& c = client(ep, o);
  const uint64_t t0 = now_ms();
  auto res = call(c, ping_request());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::timeout) << res.error().message;
  EXPECT_LT(now_ms() - t0, 2000u);
}

// --- Through TCP and TLS (socat in front of the daemon's socket)
// ----------------------------------

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

bool sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

/// A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA.
class Certs {
 public:
  Certs() {
    char tmpl[] = "/tmp/alknet-tls-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    auto write = [&](const std::string& name, const std::string& text) {
      std::ofstream(dir_ + "/" + name) << text;
    };
    write("ca.tmpl", "cn = alknet test CA\nca\ncert_signing_key\nexpiration_days = 2\n");
    write("other.tmpl", "cn = some other CA\nca\ncert_signing_key\nexpiration_days = 2\n");
    write("server.tmpl",
          "cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\n"
          "signing_key\nencryption_key\nexpiration_days = 2\n");
    write("client.tmpl",
          "cn = alknet test client\ntls_www_client\nsigning_key\nexpiration_days = 2\n");
    const std::string d = dir_;
    const std::string key = "certtool --generate-privkey --key-type=ecdsa --outfile ";
    ok_ = sh(key + d + "/ca.key") && sh(key + d + "/other.key") && sh(key + d + "/server.key") &&
          sh(key + d + "/client.key") &&
          sh("certtool --generate-self-signed --load-privkey " + d + "/ca.key --template " + d +
             "/ca.tmpl --outfile " + d + "/ca.pem") &&
          sh("certtool --generate-self-signed --load-privkey " + d + "/other.key --template " + d +
             "/other.tmpl --outfile " + d + "/other.pem") &&
          sh("certtool --generate-certificate --load-privkey " + d + "/server.key" +
             " --load-ca-certificate " + d + "/ca.pem --load-ca-privkey " + d + "/ca.key" +
             " --template " + d + "/server.tmpl --outfile " + d + "/server.pem") &&
          sh("certtool --generate-certificate --load-privkey " + d + "/client.key" +
             " --load-ca-certificate " + d + "/ca.pem --load-ca-privkey " + d + "/ca.key" +
             " --template " + d + "/client.tmpl --outfile " + d + "/client.pem");
  }
  ~Certs() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  bool ok_ = false;
};

bool ensure_tools() {
  if (have_program("socat") && have_program("certtool")) return true;
  sh("apt-get install -y socat gnutls-bin");
  return have_program("socat") && have_program("certtool");
}

std::string daemon_socket_path() {
  const Endpoint ep = daemon_endpoint();
  return ep.kind == Endpoint::Kind::unix_socket ? ep.path : "/var/run/docker.sock";
}

class TcpTest : public HijackTest {
 protected:
  void SetUp() override {
    HijackTest::SetUp();
    if (!ensure_tools()) GTEST_SKIP() << "socat is not installable here";
    forwarder_ = std::make_unique<Forwarder>(
        "TCP-LISTEN:" + std::to_string(port_) + ",bind=127.0.0.1,reuseaddr,fork", port_,
        daemon_socket_path());
    ASSERT_TRUE(forwarder_->ready()) << "socat did not start";
  }
  void TearDown() override {
    close_client(client_);  // before socat goes away
    forwarder_.reset();
    HijackTest::TearDown();
  }
  Endpoint endpoint() const { return loopback_tcp(port_); }

  uint16_t port_ = free_port();
  std::unique_ptr<Forwarder> forwarder_;
};

TEST_F(TcpTest, SendStreamAndHijackOverTcp) {
  Client& c = client(endpoint());
  Request v;
  v.path = "/version";
  EXPECT_TRUE(call_json(c, v).contains("Version"));
  EXPECT_EQ(c.api_version(), "1.41");
  const std::string payload = pattern(256 * 1024);
  EchoOutcome o = echo(c, payload);
  EXPECT_FALSE(o.error) << o.error->message;
  EXPECT_TRUE(o.echoed == payload) << "got " << o.echoed.size() << " bytes";
}

TEST_F(ClientTest, NegotiationIsRetriedAfterAFailure) {
  if (!ensure_tools()) GTEST_SKIP() << "socat is not installable here";
  const uint16_t port = free_port();
  Client& c = client(loopback_tcp(port));
  Request r;
  r.path = "/version";
  auto first = call(c, r);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind, Error::Kind::unavailable);
  EXPECT_EQ(c.api_version(), "");
  // The daemon "comes back": the next request negotiates again and succeeds.
  Forwarder fwd("TCP-LISTEN:" + std::to_string(port) + ",bind=127.0.0.1,reuseaddr,fork", port,
                daemon_socket_path());
  ASSERT_TRUE(fwd.ready());
  auto second = call(c, r);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(c.api_version(), "1.41");
  close_client(client_);
}

TEST_F(TcpTest, DaemonConnectionBrokenMidStreamIsUnavailable) {
  Client& c = client(endpoint());
  const std::string id =
      create_container(c, {{"Cmd", {"sh", "-c", "while true; do echo tick; sleep 0.05; done"}}});
  start_container(c, id);
  size_t bytes = 0;
  std::optional<Error> error;
  bool ended = false;
  auto h =
      c.stream(logs_request(id, true), {nullptr, [&](std::string_view b) { bytes += b.size(); },
                                        [&](std::optional<Error> e) {
                                          error = std::move(e);
                                          ended = true;
                                        }});
  ASSERT_TRUE(run_until([&] { return bytes > 0; }));
  forwarder_->kill_now();
  ASSERT_TRUE(run_until([&] { return ended; }, 5000));
  ASSERT_TRUE(error) << "a cut stream must not end cleanly";
  EXPECT_EQ(error->kind, Error::Kind::unavailable) << error->message;
}

class TlsTest : public HijackTest {
 protected:
  void SetUp() override {
    HijackTest::SetUp();
    if (!ensure_tools()) GTEST_SKIP() << "socat/certtool are not installable here";
    certs_ = std::make_unique<Certs>();
    ASSERT_TRUE(certs_->ok()) << "certtool failed";
    const std::string listen = "OPENSSL-LISTEN:" + std::to_string(port_) +
                               ",bind=127.0.0.1,reuseaddr,fork,cert=" + certs_->path("server.pem") +
                               ",key=" + certs_->path("server.key") +
                               ",cafile=" + certs_->path("ca.pem") + ",verify=1";
    forwarder_ = std::make_unique<Forwarder>(listen, port_, daemon_socket_path());
    ASSERT_TRUE(forwarder_->ready()) << "socat did not start";
  }
  void TearDown() override {
    close_client(client_);
    forwarder_.reset();
    certs_.reset();
    HijackTest::TearDown();
  }
  Endpoint endpoint(const std::string& ca = "ca.pem", bool client_cert = true) const {
    Endpoint ep = loopback_tcp(port_);
    ep.tls = true;
    ep.tls_verify = true;
    ep.ca_file = certs_->path(ca);
    if (client_cert) {
      ep.cert_file = certs_->path("client.pem");
      ep.key_file = certs_->path("client.key");
    }
    return ep;
  }

  uint16_t port_ = free_port();
  std::unique_ptr<Certs> certs_;
  std::unique_ptr<Forwarder> forwarder_;
};

TEST_F(TlsTest, PingSendAndStreamOverTls) {
  Client& c = client(endpoint());
  Request v;
  v.path = "/version";
  json version = call_json(c, v);
  EXPECT_TRUE(version.contains("Version"));
  EXPECT_EQ(c.api_version(), "1.41");
  EXPECT_EQ(c.stats().idle, 1u);

  const std::string id = create_container(
      c, {{"Cmd", {"sh", "-c", "yes line | head -n " + std::to_string(kYesLines)}}});
  start_container(c, id);
  wait_container(c, id);  // the whole log, read through TLS
  MuxDecoder mux;
  size_t out = 0;
  bool ended = false;
  std::optional<Error> error;
  auto h = c.stream(logs_request(id, true),
                    {nullptr,
                     [&](std::string_view bytes) {
                       mux.feed(bytes, [&](const MuxPiece& p) { out += p.data.size(); });
                     },
                     [&](std::optional<Error> e) {
                       error = std::move(e);
                       ended = true;
                     }});
  ASSERT_TRUE(run_until([&] { return ended; }));
  EXPECT_FALSE(error) << error->message;
  EXPECT_EQ(out, kYesBytes);
}

TEST_F(TlsTest, HijackEchoesThroughTlsHalfClose) {
  Client& c = client(endpoint());
  const std::string payload = pattern(1 << 20);
  EchoOutcome o = echo(c, payload);
  EXPECT_TRUE(o.opened);
  EXPECT_FALSE(o.error) << o.error->message;
  EXPECT_EQ(o.echoed.size(), payload.size());
  EXPECT_TRUE(o.echoed == payload) << "echoed bytes differ";
}

TEST_F(TlsTest, WrongCaIsATlsError) {
  Client& c = client(endpoint("other.pem"));
  auto res = call(c, ping_request());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::tls) << res.error().message;
  EXPECT_NE(res.error().message.find("not trusted"), std::string::npos) << res.error().message;
}

TEST_F(TlsTest, MissingClientCertificateIsRefused) {
  Client& c = client(endpoint("ca.pem", /*client_cert=*/false));
  auto res = call(c, ping_request());
  ASSERT_FALSE(res.ok());
  // TLS 1.3 reports the refusal after the client's side of the handshake: an alert or a close.
  EXPECT_TRUE(res.error().kind == Error::Kind::tls || res.error().kind == Error::Kind::unavailable)
      << describe(res.error().kind) << ": " << res.error().message;
}

TEST_F(TlsTest, UnreadableCaFileIsATlsError) {
  Endpoint ep = endpoint();
  ep.ca_file = certs_->path("missing.pem");
  Client& c = client(ep);
  auto res = call(c, ping_request());
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, Error::Kind::tls) << res.error().message;
}

// --- Endpoint parsing ---------------------------------------------------------------------------

TEST(EndpointTest, ParsesDockerHostForms) {
  auto u = parse_docker_host("unix:///run/user/1000/docker.sock");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, Endpoint::Kind::unix_socket);
  EXPECT_EQ(u->path, "/run/user/1000/docker.sock");
  EXPECT_EQ(u->describe(), "unix:///run/user/1000/docker.sock");

  auto t = parse_docker_host("tcp://10.0.0.1:2375");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, Endpoint::Kind::tcp);
  EXPECT_EQ(t->host, "10.0.0.1");
  EXPECT_EQ(t->port, 2375);
  EXPECT_FALSE(t->tls);

  auto v = parse_docker_host("tcp://docker.example:2376", "1", "/certs");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->tls);
  EXPECT_TRUE(v->tls_verify);
  EXPECT_EQ(v->ca_file, "/certs/ca.pem");
  EXPECT_EQ(v->cert_file, "/certs/cert.pem");
  EXPECT_EQ(v->key_file, "/certs/key.pem");

  auto d = parse_docker_host("tcp://h");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, 2375);
  auto ds = parse_docker_host("https://h");
  ASSERT_TRUE(ds.ok());
  EXPECT_TRUE(ds->tls);
  EXPECT_EQ(ds->port, 2376);
  auto p2376 = parse_docker_host("tcp://h:2376");  // TLS is never guessed from the port
  ASSERT_TRUE(p2376.ok());
  EXPECT_FALSE(p2376->tls);

  auto six = parse_docker_host("tcp://[::1]:2375");
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(six->host, "::1");
  EXPECT_EQ(six->describe(), "tcp://[::1]:2375");

  for (const char* bad :
       {"", "/var/run/docker.sock", "ssh://me@host", "tcp://", "tcp://h:0", "tcp://h:70000",
        "tcp://h:x", "tcp://h:2375/base", "unix://relative", "tcp://::1:2375"}) {
    auto r = parse_docker_host(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_NE(r.error().find("DOCKER_HOST"), std::string::npos) << r.error();
  }
}

TEST(ApiVersionTest, ComparesNumerically) {
  EXPECT_EQ(compare_api_versions("1.41", "1.41"), 0);
  EXPECT_EQ(compare_api_versions("1.9", "1.41"), -1);
  EXPECT_EQ(compare_api_versions("1.45", "1.41"), 1);
  EXPECT_EQ(compare_api_versions("2.0", "1.99"), 1);
  EXPECT_EQ(compare_api_versions("1.41", "1.41.0"), 0);
}

TEST(HttpTypesTest, HeaderLookupAndErrorParsing) {
  Response r;
  r.status = 409;
  r.headers = {{"Api-Version", "1.41"}, {"Content-Type", "application/json"}};
  r.body = "{\"message\":\"Conflict. The container name is already in use\"}\n";
  ASSERT_NE(r.header("API-VERSION"), nullptr);
  EXPECT_EQ(*r.header("api-version"), "1.41");
  EXPECT_EQ(r.header("X-Nope"), nullptr);
  Error e = Error::from_response(r);
  EXPECT_EQ(e.kind, Error::Kind::http);
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(e.message, "Conflict. The container name is already in use");
  r.body = "page not found\n";
  EXPECT_EQ(Error::from_response(r).message, "page not found");
  r.body.clear();
  EXPECT_EQ(Error::from_response(r).message, "HTTP status 409");
  EXPECT_EQ(percent_encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
  EXPECT_EQ(percent_encode("/images/library/busybox:1.36/json", true),
            "/images/library/busybox:1.36/json");
}

}  // namespace
}  // namespace alk::docker

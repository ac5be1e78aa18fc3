// The dispatcher over a real unix socket with test operations: ordering rules, the raw carriage,
// and every kind of bad input closing only its own stream.
#include "call/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>

#include "client/call_client.h"
#include "support/unix_session_fixture.h"
#include "wire/frame_decoder.h"

namespace alk {
namespace {

using call::CallSink;
using call::Handler;
using nlohmann::json;

// A handler whose behaviour is a lambda over the sink; counts cancellations.
struct ScriptedHandler : Handler {
  CallSink& sink;
  std::function<void(CallSink&)> on_start;
  std::function<void(CallSink&, std::string_view)> stdin_fn;
  int* cancels;
  ScriptedHandler(CallSink& s, std::function<void(CallSink&)> f, int* c)
      : sink(s), on_start(std::move(f)), cancels(c) {}
  void start() override { on_start(sink); }
  void on_stdin(std::string_view b) override { sink.send_chunk(wire::ChunkType::stdout_data, b); }
  void on_stdin_end() override { sink.finish_raw(0); }
  void on_control(const json& m) override {
    sink.send_chunk(wire::ChunkType::stderr_data, "control:" + m.value("type", ""));
  }
  void cancel() override { ++*cancels; }
};

// Echoes stdin like ScriptedHandler, but pauses the input after every piece and resumes it on a
// later loop turn; checks that no piece arrives from inside its own resume_input() call.
struct PausingHandler : Handler {
  CallSink& sink;
  Deferrer& deferrer;
  bool late_begin;  // begin_raw on a later turn, with the request's stdin already sent
  int* pieces;
  bool resuming = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  PausingHandler(CallSink& s, Deferrer& d, bool late, int* n)
      : sink(s), deferrer(d), late_begin(late), pieces(n) {}
  ~PausingHandler() override { *alive = false; }
  void start() override {
    if (!late_begin) {
      sink.begin_raw(false);
      return;
    }
    deferrer.post([this, a = alive] {
      if (*a) sink.begin_raw(false);
    });
  }
  void on_stdin(std::string_view b) override {
    EXPECT_FALSE(resuming) << "a piece delivered from inside resume_input()";
    ++*pieces;
    sink.send_chunk(wire::ChunkType::stdout_data, b);
    sink.pause_input();
    deferrer.post([this, a = alive] {
      if (!*a) return;
      resuming = true;
      sink.resume_input();
      resuming = false;
    });
  }
  void on_stdin_end() override { sink.finish_raw(0); }
  void on_control(const json&) override {}
  void cancel() override {}
};

// What came back on one connection.
struct Exchange {
  std::vector<wire::Envelope> frames;
  std::string rest;  // bytes after the frames (raw chunks)
  bool fin = false;
  bool reset = false;
};

class SessionTest : public test::UnixSessionFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(UnixSessionFixture::SetUp());
    call::add_discovery_operations(registry_);
    registry_.add(spec("test/echo", call::OpKind::query, false,
                       {{"type", "object"},
                        {"required", {"msg"}},
                        {"properties", {{"msg", {{"type", "string"}}}}},
                        {"additionalProperties", false}},
                       [](CallSink& s, const json& in) { s.respond(in); }));
    registry_.add(spec("events/stream", call::OpKind::subscription, false, json::object(),
                       [](CallSink& s, const json&) {
                         for (int i = 1; i <= 3; ++i) s.respond({{"n", i}});
                         s.complete();
                       }));
    registry_.add(spec("test/fail", call::OpKind::subscription, false, json::object(),
                       [](CallSink& s, const json&) {
                         s.respond({{"ok", true}});
                         s.fail(call::CallError::internal("boom"));
                       }));
    registry_.add(spec("test/forever", call::OpKind::subscription, false, json::object(),
                       [](CallSink& s, const json&) {
                         s.respond({{"started", true}});
                       }));
    registry_.add(spec("test/raw", call::OpKind::subscription, true, json::object(),
                       [](CallSink& s, const json&) { s.begin_raw(false); }));
    for (const bool late : {false, true}) {
      call::OperationSpec p = spec(late ? "test/raw-pausing-late" : "test/raw-pausing",
                                   call::OpKind::subscription, true, json::object(), nullptr);
      p.factory = [this, late](const call::CallRequest&, CallSink& sink) {
        return std::make_unique<PausingHandler>(sink, *deferrer_, late, &pieces_);
      };
      registry_.add(std::move(p));
    }
    ASSERT_NO_FATAL_FAILURE(
        listen("alk-session-test", [this](const call::CallRecord& r) { records_.push_back(r); }));
  }

  call::OperationSpec spec(const std::string& name, call::OpKind kind, bool raw, json schema,
                           std::function<void(CallSink&, const json&)> body) {
    call::OperationSpec s;
    s.name = name;
    s.kind = kind;
    s.raw_carriage = raw;
    s.input_schema = std::move(schema);
    s.factory = [this, body](const call::CallRequest& req, CallSink& sink) {
      json input = req.input;
      return std::make_unique<ScriptedHandler>(
          sink, [body, input](CallSink& k) { body(k, input); }, &cancels_);
    };
    return s;
  }

  // Connects, writes `bytes` (then FIN when asked), and collects the answer until the server
  // closes its side or resets.
  Exchange exchange(const std::string& bytes, bool fin = true, bool wait_close = true) {
    struct Collector : transport::StreamReceiver {
      Exchange* ex;
      std::string buf;
      bool closed = false;
      size_t on_bytes(std::string_view b) override {
        buf.append(b);
        return b.size();
      }
      void on_fin() override { ex->fin = true; }
      void on_reset() override { ex->reset = true; }
      void on_drain() override {}
      void on_closed() override { closed = true; }
    };
    Exchange ex;
    Collector col;
    col.ex = &ex;
    transport::UvByteStream* stream = nullptr;
    transport::connect_unix(&loop_, path_, [&](transport::UvByteStream* s, int) {
      stream = s;
      s->set_receiver(&col);
      s->start();
      s->write(bytes);
      if (fin) s->finish();
    });
    EXPECT_TRUE(run_until(
        [&] { return ex.fin || ex.reset || col.closed || (!wait_close && !col.buf.empty()); }));
    if (stream && !col.closed) {
      stream->set_receiver(nullptr);
      stream->reset();
    }
    wire::FrameDecoder dec;
    dec.push(col.buf);
    while (auto env = dec.next()) ex.frames.push_back(std::move(*env));
    ex.rest = dec.take_remaining();
    run_until([] { return false; }, 20);  // let the server side settle
    return ex;
  }

  static std::string frame(const std::string& id, const json& payload) {
    return wire::encode_frame({"call.requested", id, payload});
  }

  static std::string from_hex(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
      out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
  }

  static json vectors() {
    std::ifstream in(std::string(ALK_SOURCE_DIR) + "/../shared/vectors/call-frames.json");
    return json::parse(in);
  }

  static std::string vector_hex(const std::string& name) {
    const json all = vectors();
    for (const auto& f : all["frames"]) {
      if (f["name"] == name) return f["hex"];
    }
    ADD_FAILURE() << "no vector " << name;
    return "";
  }

  int cancels_ = 0;
  int pieces_ = 0;
  std::vector<call::CallRecord> records_;
};

TEST_F(SessionTest, UnknownOperationFromVectorGetsNotFoundByteExact) {
  Exchange ex = exchange(from_hex(vector_hex("requested-readFile")));
  ASSERT_EQ(ex.frames.size(), 1u);
  json expected = {
      {"code", "NOT_FOUND"}, {"message", "operation not found: fs/readFile"}, {"retryable", false}};
  EXPECT_EQ(ex.frames[0].type, "call.error");
  EXPECT_EQ(ex.frames[0].id, "req-1");
  EXPECT_EQ(ex.frames[0].payload, expected);
  EXPECT_TRUE(ex.fin || ex.reset);  // the server ends its side (and may close fully right after)
}

TEST_F(SessionTest, SubscriptionVectorGivesThreeRespondedThenCompleted) {
  Exchange ex = exchange(from_hex(vector_hex("requested-subscription")));
  ASSERT_EQ(ex.frames.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ex.frames[i].type, "call.responded");
    EXPECT_EQ(ex.frames[i].payload, json({{"output", {{"n", i + 1}}}}));
  }
  EXPECT_EQ(wire::encode_frame(ex.frames[3]),
            from_hex("00000038") + R"({"type":"call.completed","id":"sub-pump-1","payload":{}})");
}

TEST_F(SessionTest, QueryAnswersOnceWithoutCompleted) {
  Exchange ex = exchange(frame("q1", {{"operationId", "/test/echo"}, {"input", {{"msg", "hi"}}}}));
  ASSERT_EQ(ex.frames.size(), 1u);
  EXPECT_EQ(ex.frames[0].type, "call.responded");
  EXPECT_EQ(ex.frames[0].payload["output"]["msg"], "hi");
}

TEST_F(SessionTest, ErrorIsTerminalWithoutCompleted) {
  Exchange ex = exchange(frame("e1", {{"operationId", "test/fail"}}));
  ASSERT_EQ(ex.frames.size(), 2u);
  EXPECT_EQ(ex.frames[1].type, "call.error");
  EXPECT_EQ(ex.frames[1].payload["code"], "INTERNAL");
  EXPECT_EQ(ex.frames[1].payload["message"], "boom");
}

TEST_F(SessionTest, InvalidInputNamesTheField) {
  Exchange missing =
      exchange(frame("i1", {{"operationId", "test/echo"}, {"input", json::object()}}));
  ASSERT_EQ(missing.frames.size(), 1u);
  EXPECT_EQ(missing.frames[0].payload["code"], "INVALID_INPUT");
  EXPECT_EQ(missing.frames[0].payload["details"]["field"], "msg");
  Exchange mistyped =
      exchange(frame("i2", {{"operationId", "test/echo"}, {"input", {{"msg", 5}}}}));
  ASSERT_EQ(mistyped.frames.size(), 1u);
  EXPECT_EQ(mistyped.frames[0].payload["details"]["field"], "msg");
  Exchange extra = exchange(
      frame("i3", {{"operationId", "test/echo"}, {"input", {{"msg", "a"}, {"mgs", "b"}}}}));
  EXPECT_EQ(extra.frames.at(0).payload["details"]["field"], "mgs");
  Exchange op_type = exchange(frame("i4", {{"operationId", 7}}));
  EXPECT_EQ(op_type.frames.at(0).payload["code"], "INVALID_INPUT");
  Exchange carriage = exchange(frame("i5", {{"operationId", "test/echo"}, {"carriage", "tcp"}}));
  EXPECT_EQ(carriage.frames.at(0).payload["details"]["field"], "carriage");
}

TEST_F(SessionTest, RawCarriageAskedOfJsonOnlyOperation) {
  Exchange ex = exchange(
      frame("r1", {{"operationId", "test/echo"}, {"input", {{"msg", "x"}}}, {"carriage", "raw"}}));
  ASSERT_EQ(ex.frames.size(), 1u);
  EXPECT_EQ(ex.frames[0].payload["code"], "INVALID_OPERATION_TYPE");
}

TEST_F(SessionTest, BadStreamsCloseOnlyThemselves) {
  const std::vector<std::string> bad = {
      from_hex("00000000"),                 // zero length
      from_hex("04000001"),                 // 64 MiB + 1
      from_hex("0000000a") + "not json!!",  // malformed JSON
      from_hex("00000002") + "[]",          // not an envelope
      from_hex("0000000f") +
          R"({"type":1,"id":"x"})",  // wrong types (length mismatch ignored: cut)
      std::string("\xff\xfe garbage \x00\x01", 14),
  };
  for (const auto& bytes : bad) {
    Exchange ex = exchange(bytes);
    EXPECT_TRUE(ex.frames.empty());
    EXPECT_TRUE(ex.fin || ex.reset);
  }
  // A frame cut short, then FIN: no answer, the stream just ends.
  std::string cut = frame("c1", {{"operationId", "test/echo"}, {"input", {{"msg", "x"}}}});
  Exchange ex = exchange(cut.substr(0, cut.size() / 2));
  EXPECT_TRUE(ex.frames.empty());
  // The server still serves.
  Exchange ok =
      exchange(frame("ok", {{"operationId", "test/echo"}, {"input", {{"msg", "still"}}}}));
  ASSERT_EQ(ok.frames.size(), 1u);
  EXPECT_EQ(ok.frames[0].payload["output"]["msg"], "still");
}

TEST_F(SessionTest, SecondRequestOnOneStreamIsRefusedAlone) {
  std::string two =
      frame("a", {{"operationId", "test/forever"}}) + frame("b", {{"operationId", "test/forever"}});
  Exchange ex = exchange(two, /*fin=*/false, /*wait_close=*/false);
  run_until([] { return false; }, 50);
  ASSERT_GE(ex.frames.size(), 1u);
  EXPECT_EQ(ex.frames[0].id, "a");
}

TEST_F(SessionTest, RawSessionEchoesStdinAndExitsLast) {
  std::string req = frame("raw1", {{"operationId", "test/raw"}, {"carriage", "raw"}});
  std::string chunks;
  wire::append_chunk(chunks, wire::ChunkType::stdin_data, "hello ");
  wire::append_chunk(chunks, wire::ChunkType::control_in,
                     R"({"type":"resize","cols":80,"rows":24})");
  wire::append_chunk(chunks, wire::ChunkType::stdin_data, "world");
  wire::append_chunk(chunks, wire::ChunkType::stdin_data, "");  // EOF
  Exchange ex = exchange(req + chunks);
  ASSERT_EQ(ex.frames.size(), 1u);
  EXPECT_EQ(ex.frames[0].payload["output"], json({{"carriage", "raw"}, {"tty", false}}));
  wire::ChunkDecoder dec;
  dec.push(ex.rest);
  std::string out, err;
  std::optional<json> exit;
  while (auto c = dec.next()) {
    ASSERT_FALSE(exit) << "a chunk after exit";
    if (c->type == wire::ChunkType::stdout_data) out += c->payload;
    if (c->type == wire::ChunkType::stderr_data) err += c->payload;
    if (c->type == wire::ChunkType::control_out) exit = json::parse(c->payload);
  }
  EXPECT_EQ(out, "hello world");
  EXPECT_EQ(err, "control:resize");
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, json({{"type", "exit"}, {"code", 0}}));
}

TEST_F(SessionTest, ClientFinEndsRawStdin) {
  std::string req = frame("raw2", {{"operationId", "test/raw"}, {"carriage", "raw"}});
  std::string chunks;
  wire::append_chunk(chunks, wire::ChunkType::stdin_data, "abc");
  Exchange ex = exchange(req + chunks, /*fin=*/true);
  wire::ChunkDecoder dec;
  dec.push(ex.rest);
  auto first = dec.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload, "abc");
  auto last = dec.next();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->type, wire::ChunkType::control_out);
}

// A handler that pauses after every piece of stdin: what the session did not take waits in the
// transport and comes back, in order, after resume_input(), never from inside it. With a late
// begin_raw, the stdin sent with the request waits the same way.
TEST_F(SessionTest, PausedStdinWaitsInTheTransportAndArrivesInOrder) {
  std::string payload(3 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + (i >> 12));
  for (const char* op : {"test/raw-pausing", "test/raw-pausing-late"}) {
    SCOPED_TRACE(op);
    pieces_ = 0;
    std::string chunks;
    for (size_t at = 0; at < payload.size(); at += 65536 + 17)
      wire::append_chunk(chunks, wire::ChunkType::stdin_data,
                         std::string_view(payload).substr(at, 65536 + 17));
    wire::append_chunk(chunks, wire::ChunkType::stdin_data, "");  // EOF
    Exchange ex = exchange(frame("p1", {{"operationId", op}, {"carriage", "raw"}}) + chunks);
    ASSERT_EQ(ex.frames.size(), 1u);
    wire::ChunkDecoder dec;
    dec.push(ex.rest);
    std::string out;
    std::optional<json> exit;
    while (auto c = dec.next()) {
      if (c->type == wire::ChunkType::stdout_data) out += c->payload;
      if (c->type == wire::ChunkType::control_out) exit = json::parse(c->payload);
    }
    EXPECT_EQ(out.size(), payload.size());
    EXPECT_TRUE(out == payload) << "stdin came back out of order or changed";
    ASSERT_TRUE(exit);
    EXPECT_EQ((*exit)["code"], 0);
    EXPECT_GT(pieces_, 60) << "chunks larger than a socket read reach the handler in pieces";
  }
}

TEST_F(SessionTest, UnknownChunkTypeResetsTheStreamAndCancelsTheHandler) {
  std::string req = frame("raw3", {{"operationId", "test/raw"}, {"carriage", "raw"}});
  Exchange ex = exchange(req + std::string("\x09\x00\x00\x00\x00", 5), /*fin=*/false);
  EXPECT_TRUE(ex.reset || ex.fin);
  run_until([&] { return cancels_ > 0; });
  EXPECT_EQ(cancels_, 1);
  // A client-to-server stdout chunk is just as wrong.
  std::string wrong;
  wire::append_chunk(wrong, wire::ChunkType::stdout_data, "x");
  exchange(req + wrong, /*fin=*/false);
  run_until([&] { return cancels_ > 1; });
  EXPECT_EQ(cancels_, 2);
}

TEST_F(SessionTest, DisconnectCancelsARunningSubscription) {
  Exchange ex =
      exchange(frame("f1", {{"operationId", "test/forever"}}), /*fin=*/false, /*wait_close=*/false);
  ASSERT_EQ(ex.frames.size(), 1u);
  EXPECT_TRUE(run_until([&] { return cancels_ == 1; }));
  EXPECT_TRUE(run_until([&] { return !records_.empty(); }));
  EXPECT_EQ(records_.back().outcome, "cancelled");
}

TEST_F(SessionTest, AbortedFrameCancelsTheCall) {
  std::string bytes = frame("f2", {{"operationId", "test/forever"}}) +
                      wire::encode_frame({"call.aborted", "f2", json::object()});
  Exchange ex = exchange(bytes, /*fin=*/false);
  EXPECT_TRUE(run_until([&] { return cancels_ == 1; }));
}

TEST_F(SessionTest, ManyConcurrentCallsThroughTheClient) {
  auto address = client::parse_address("unix://" + path_);
  ASSERT_TRUE(address.ok());
  client::CallClient c(&loop_, address.value());
  constexpr int kCalls = 50;
  int ok = 0;
  std::vector<std::unique_ptr<client::ClientCall>> calls;
  for (int i = 0; i < kCalls; ++i) {
    client::CallEvents ev;
    auto expected = "m" + std::to_string(i);
    ev.on_output = [&ok, expected](const json& out) { ok += out["msg"] == expected; };
    calls.push_back(
        c.call("test/echo", {{"msg", expected}}, ev, {call::Carriage::json, call::OpKind::query}));
  }
  EXPECT_TRUE(run_until([&] { return ok == kCalls; }));
  calls.clear();
}

TEST_F(SessionTest, DiscoveryListsAndDescribesOperations) {
  Exchange list = exchange(from_hex(vector_hex("requested-services-list")));
  ASSERT_EQ(list.frames.size(), 1u);
  bool found = false;
  for (const auto& op : list.frames[0].payload["output"])
    found = found || op["name"] == "test/echo";
  EXPECT_TRUE(found);
  Exchange schema = exchange(
      frame("s1", {{"operationId", "services/schema"}, {"input", {{"name", "/test/echo"}}}}));
  ASSERT_EQ(schema.frames.size(), 1u);
  EXPECT_EQ(schema.frames[0].payload["output"]["input"]["required"][0], "msg");
}

// A handler stops (writable() false) exactly when its stream counts as congested — queued bytes
// above the high-water mark — the state for which the stream promises on_drain. At exactly the
// mark the session must stay writable: a handler paused there was never resumed (a QUIC log
// follow stalled for good when its queue happened to land on 1 MiB exactly).
TEST(SessionBackpressure, WritableUntilAboveTheHighWaterMark) {
  struct QueueStream : transport::ByteStream {
    size_t queued = 0;
    void set_receiver(transport::StreamReceiver*) override {}
    void write(std::string bytes) override { queued += bytes.size(); }
    size_t queued_bytes() const override { return queued; }
    void finish() override {}
    void reset() override {}
    void pause_reading() override {}
    void resume_reading() override {}
    std::string describe_peer() const override { return "test"; }
  };
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  auto deferrer = std::make_unique<Deferrer>(&loop);
  call::Registry registry;
  QueueStream stream;
  call::SessionEnv env;
  env.registry = &registry;
  env.deferrer = deferrer.get();
  {
    call::CallSession session(stream, env);
    constexpr size_t kHigh = transport::ByteStream::kHighWater;
    stream.queued = kHigh - 1;
    EXPECT_TRUE(session.writable());
    stream.queued = kHigh;
    EXPECT_TRUE(session.writable()) << "at the mark the stream is not congested: no drain follows";
    stream.queued = kHigh + 1;
    EXPECT_FALSE(session.writable());
  }
  bool closed = false;
  deferrer->close([&] { closed = true; });
  while (!closed) uv_run(&loop, UV_RUN_ONCE);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace alk

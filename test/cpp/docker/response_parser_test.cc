// The llhttp-based response parser, fed every way a response can be split across reads.
#include "docker/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace alk::docker::detail {
namespace {

struct Recorder final : ResponseParser::Sink {
  ResponseParser::HeadAction action = ResponseParser::HeadAction::body;
  Response head;
  int heads = 0;
  std::string body;
  size_t pause_after_body_bytes = 0;  // 0: never pause

  ResponseParser::HeadAction on_head(Response& h) override {
    ++heads;
    head = h;
    return action;
  }
  bool on_body(std::string_view piece) override {
    body.append(piece);
    return pause_after_body_bytes == 0 || body.size() < pause_after_body_bytes;
  }
};

struct SplitRun {
  ResponseParser::Status status = ResponseParser::Status::more;
  size_t consumed_total = 0;  // bytes taken before `status`
  std::string error;
};

/// Feeds `wire` in pieces of `step` bytes until the parser stops; resumes after pauses.
SplitRun feed_split(ResponseParser& p, const std::string& wire, size_t step) {
  SplitRun run;
  size_t off = 0;
  while (off < wire.size()) {
    const size_t n = std::min(step, wire.size() - off);
    std::string_view piece(wire.data() + off, n);
    auto out = p.feed(piece);
    run.status = out.status;
    if (out.status == ResponseParser::Status::paused) {
      off += out.consumed;
      continue;
    }
    if (out.status != ResponseParser::Status::more) {
      run.consumed_total = off + out.consumed;
      run.error = out.error;
      return run;
    }
    off += n;
  }
  // A pause on the very last byte leaves the message end pending: an empty feed delivers it.
  while (run.status == ResponseParser::Status::paused) {
    auto out = p.feed(std::string_view("", 0));
    run.status = out.status;
    run.error = out.error;
  }
  run.consumed_total = off;
  return run;
}

TEST(ResponseParserTest, ChunkedBodyAtEverySplit) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Empty:\r\n"
      "Api-Version: 1.41\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  for (size_t step = 1; step <= wire.size(); ++step) {
    Recorder sink;
    ResponseParser p(sink);
    const SplitRun run = feed_split(p, wire, step);
    ASSERT_EQ(run.status, ResponseParser::Status::complete) << "step " << step;
    EXPECT_EQ(run.consumed_total, wire.size());
    EXPECT_EQ(sink.heads, 1);
    EXPECT_EQ(sink.head.status, 200);
    ASSERT_EQ(sink.head.headers.size(), 4u) << "step " << step;
    EXPECT_EQ(sink.head.headers[1].first, "X-Empty");
    EXPECT_EQ(sink.head.headers[1].second, "");
    ASSERT_NE(sink.head.header("api-version"), nullptr);
    EXPECT_EQ(*sink.head.header("api-version"), "1.41");
    EXPECT_EQ(sink.body, "hello world");
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(ResponseParserTest, PauseInsideTheBodyResumesWhereItStopped) {
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
  for (size_t step = 1; step <= wire.size(); ++step) {
    Recorder sink;
    sink.pause_after_body_bytes = 3;
    ResponseParser p(sink);
    const SplitRun run = feed_split(p, wire, step);
    ASSERT_EQ(run.status, ResponseParser::Status::complete) << "step " << step;
    EXPECT_EQ(sink.body, "0123456789");
  }
}

TEST(ResponseParserTest, UpgradeHandsOverTheBytesAfterTheHead) {
  const std::string head =
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
  const std::string raw("\x01\0\0\0\0\0\0\x02hi", 10);
  for (size_t step = 1; step <= head.size() + raw.size(); ++step) {
    Recorder sink;
    sink.action = ResponseParser::HeadAction::upgrade;
    ResponseParser p(sink);
    const SplitRun run = feed_split(p, head + raw, step);
    ASSERT_EQ(run.status, ResponseParser::Status::upgraded) << "step " << step;
    EXPECT_EQ(run.consumed_total, head.size()) << "step " << step;
    EXPECT_EQ(sink.head.status, 101);
    EXPECT_TRUE(sink.body.empty());
  }
}

TEST(ResponseParserTest, A200AnswerToAnUpgradeIsRawToo) {
  // What a proxy (or a daemon without Upgrade support) answers: no body framing at all.
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw bytes";
  Recorder sink;
  sink.action = ResponseParser::HeadAction::upgrade;
  ResponseParser p(sink);
  const auto out = p.feed(wire);
  ASSERT_EQ(out.status, ResponseParser::Status::upgraded);
  EXPECT_EQ(wire.substr(out.consumed), "raw bytes");
}

TEST(ResponseParserTest, BodyUntilEofCompletesAtFinish) {
  Recorder sink;
  ResponseParser p(sink);
  auto out = p.feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc");
  EXPECT_EQ(out.status, ResponseParser::Status::more);
  out = p.feed("def");
  EXPECT_EQ(out.status, ResponseParser::Status::more);
  out = p.finish();
  EXPECT_EQ(out.status, ResponseParser::Status::complete);
  EXPECT_EQ(sink.body, "abcdef");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParserTest, TruncatedBodiesAndNoResponseAreErrors) {
  {
    Recorder sink;
    ResponseParser p(sink);
    p.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    const auto out = p.finish();
    EXPECT_EQ(out.status, ResponseParser::Status::error);
    EXPECT_NE(out.error.find("body"), std::string::npos) << out.error;
  }
  {
    Recorder sink;
    ResponseParser p(sink);
    p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    EXPECT_EQ(p.finish().status, ResponseParser::Status::error);
  }
  {
    Recorder sink;
    ResponseParser p(sink);
    EXPECT_FALSE(p.started());
    const auto out = p.finish();
    EXPECT_EQ(out.status, ResponseParser::Status::error);
    EXPECT_NE(out.error.find("before a response"), std::string::npos) << out.error;
  }
}

TEST(ResponseParserTest, InvalidHttpIsAStickyError) {
  Recorder sink;
  ResponseParser p(sink);
  auto out = p.feed("SSH-2.0-OpenSSH_9.2\r\n");
  EXPECT_EQ(out.status, ResponseParser::Status::error);
  EXPECT_FALSE(out.error.empty());
  out = p.feed("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(out.status, ResponseParser::Status::error);
}

TEST(ResponseParserTest, InterimAnswersAreSkipped) {
  Recorder sink;
  ResponseParser p(sink);
  const auto out = p.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n");
  EXPECT_EQ(out.status, ResponseParser::Status::complete);
  EXPECT_EQ(sink.heads, 1);
  EXPECT_EQ(sink.head.status, 204);
  ASSERT_EQ(sink.head.headers.size(), 1u);
  EXPECT_EQ(sink.head.headers[0].first, "X-A");
}

TEST(ResponseParserTest, TrailingBytesAfterTheMessageAreNotConsumed) {
  Recorder sink;
  ResponseParser p(sink);
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKextra";
  const auto out = p.feed(wire);
  ASSERT_EQ(out.status, ResponseParser::Status::complete);
  EXPECT_EQ(wire.substr(out.consumed), "extra");
}

// A head of `headers` headers named h<i> with values of `value_len` bytes, then an empty body.
std::string head_with(size_t headers, size_t value_len) {
  std::string wire = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i < headers; ++i) {
    wire += "h" + std::to_string(i) + ": " + std::string(value_len, 'v') + "\r\n";
  }
  return wire + "Content-Length: 0\r\n\r\n";
}

size_t counted_head_bytes(size_t headers, size_t value_len) {
  size_t n = std::string("Content-Length").size() + 1 + 32;
  for (size_t i = 0; i < headers; ++i) n += 1 + std::to_string(i).size() + value_len + 32;
  return n;
}

TEST(ResponseParserTest, AHeadUpToTheLimitParses) {
  size_t headers = 0;
  while (counted_head_bytes(headers + 1, 200) <= ResponseParser::kMaxHeadBytes) ++headers;
  const std::string wire = head_with(headers, 200);
  for (size_t step : {size_t{1}, size_t{7}, size_t{4096}, wire.size()}) {
    Recorder sink;
    ResponseParser p(sink);
    const SplitRun run = feed_split(p, wire, step);
    ASSERT_EQ(run.status, ResponseParser::Status::complete) << "step " << step << ": " << run.error;
    EXPECT_EQ(sink.head.headers.size(), headers + 1);
  }
}

TEST(ResponseParserTest, AHeadOverTheLimitIsAStickyErrorAtEverySplit) {
  // Large values, and many empty ones (each costs its 32 bytes of overhead).
  for (const std::string& wire : {head_with(400, 200), head_with(3000, 0)}) {
    for (size_t step : {size_t{1}, size_t{3}, size_t{4096}, wire.size()}) {
      Recorder sink;
      ResponseParser p(sink);
      const SplitRun run = feed_split(p, wire, step);
      ASSERT_EQ(run.status, ResponseParser::Status::error) << "step " << step;
      EXPECT_EQ(run.error, "response head larger than 65536 bytes");
      EXPECT_EQ(sink.heads, 0);
      EXPECT_LE(run.consumed_total, ResponseParser::kMaxHeadBytes + step);
      EXPECT_EQ(p.feed("\r\n").status, ResponseParser::Status::error);
    }
  }
}

TEST(ResponseParserTest, InterimAnswersEachCountTheirOwnHead) {
  // Three 100 Continue heads of ~40 KiB each: each is under the limit, together they are not.
  std::string interim = "HTTP/1.1 100 Continue\r\n";
  for (int i = 0; i < 5; ++i)
    interim += "x" + std::to_string(i) + ": " + std::string(8000, 'v') + "\r\n";
  interim += "\r\n";
  const std::string wire = interim + interim + interim + head_with(1, 10);
  Recorder sink;
  ResponseParser p(sink);
  const SplitRun run = feed_split(p, wire, 1000);
  ASSERT_EQ(run.status, ResponseParser::Status::complete) << run.error;
  EXPECT_EQ(sink.head.status, 200);
  EXPECT_EQ(sink.head.headers.size(), 2u);
}

TEST(ResponseParserTest, AnInterimAnswerHasNoBodyWhateverItsHeadersSay) {
  // Found by fuzz_response_parser: llhttp honoured the Content-Length of a 100 answer and handed
  // its "body" to the sink before any head.
  const std::string interim = "HTTP/1.1 100 Continue\r\nContent-Length: 3\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{5}, size_t{1000}}) {
    Recorder bad;
    ResponseParser p(bad);
    const SplitRun run = feed_split(p, interim + "abc", step);
    EXPECT_EQ(run.status, ResponseParser::Status::error) << "step " << step;
    EXPECT_EQ(bad.heads, 0);
    EXPECT_EQ(bad.body, "");

    Recorder good;
    ResponseParser q(good);
    const SplitRun ok =
        feed_split(q, interim + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", step);
    ASSERT_EQ(ok.status, ResponseParser::Status::complete) << "step " << step << ": " << ok.error;
    EXPECT_EQ(good.head.status, 200);
    EXPECT_EQ(good.body, "hi");
  }
}

}  // namespace
}  // namespace alk::docker::detail

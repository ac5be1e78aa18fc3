// The output pump without a daemon: frames split at every byte, the event size bound, UTF-8 kept
// whole, timestamps, TTY bytes, error frames and backpressure on a fake source.
#include "ops/output_pump.h"

#include <gtest/gtest.h>

#include <string>

#include "support/recording_sink.h"

namespace alk::ops {
namespace {

using test::RecordingSink;

std::string frame(uint8_t stream, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const auto n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  out.append(payload);
  return out;
}

class FakeSource : public docker::BodyStream {
 public:
  void pause() override { paused = true; }
  void resume() override { paused = false; }
  void cancel() override {}
  bool paused = false;
};

TEST(OutputPump, OneEventPerFrameWhateverTheReadSplit) {
  const std::string body =
      frame(1, "hello\n") + frame(2, "oops\n") + frame(1, "") + frame(1, "bye\n");
  for (size_t step = 1; step <= body.size(); ++step) {
    RecordingSink sink;
    OutputPump pump(sink, {});
    for (size_t i = 0; i < body.size(); i += step) ASSERT_TRUE(pump.feed(body.substr(i, step)));
    ASSERT_TRUE(pump.finish());
    ASSERT_EQ(sink.outputs.size(), 3u) << "step " << step;
    EXPECT_EQ(sink.outputs[0], (nlohmann::json{{"stream", "stdout"}, {"text", "hello\n"}}));
    EXPECT_EQ(sink.outputs[1], (nlohmann::json{{"stream", "stderr"}, {"text", "oops\n"}}));
    EXPECT_EQ(sink.outputs[2], (nlohmann::json{{"stream", "stdout"}, {"text", "bye\n"}}));
  }
}

TEST(OutputPump, LongFramesGoOutInBoundedParts) {
  RecordingSink sink;
  OutputPump pump(sink, {.max_event_bytes = 10});
  const std::string payload(95, 'a');
  const std::string body = frame(1, payload);
  for (size_t i = 0; i < body.size(); i += 7) ASSERT_TRUE(pump.feed(body.substr(i, 7)));
  ASSERT_TRUE(pump.finish());
  EXPECT_EQ(sink.text_of("stdout"), payload);
  for (const auto& o : sink.outputs) EXPECT_LE(o["text"].get<std::string>().size(), 16u);
  EXPECT_GE(sink.outputs.size(), 6u);  // 95 bytes in parts of at most 10 + one read (7)
}

TEST(OutputPump, Utf8SplitBetweenFramesStaysText) {
  RecordingSink sink;
  OutputPump pump(sink, {});
  const std::string e = "\xC3\xA9";  // é
  ASSERT_TRUE(
      pump.feed(frame(1, "caf" + e.substr(0, 1)) + frame(2, "x") + frame(1, e.substr(1) + "!")));
  ASSERT_TRUE(pump.finish());
  for (const auto& o : sink.outputs) EXPECT_TRUE(o.contains("text")) << o.dump();
  EXPECT_EQ(sink.text_of("stdout"), "caf" + e + "!");
  EXPECT_EQ(sink.text_of("stderr"), "x");
}

TEST(OutputPump, InvalidUtf8GoesAsBase64AndLosesNothing) {
  RecordingSink sink;
  OutputPump pump(sink, {});
  const std::string bytes("\xFF\x00\xFE\xC3", 4);  // ends with an incomplete sequence
  ASSERT_TRUE(pump.feed(frame(1, bytes)));
  ASSERT_TRUE(pump.finish());
  EXPECT_EQ(sink.text_of("stdout"), bytes);
  for (const auto& o : sink.outputs) EXPECT_TRUE(o.contains("base64")) << o.dump();
}

TEST(OutputPump, TimestampsAreSplitOncePerFrame) {
  RecordingSink sink;
  OutputPump pump(sink, {.timestamps = true, .max_event_bytes = 40});
  const std::string ts = "2024-01-02T03:04:05.123456789Z";
  const std::string long_text(60, 'z');
  const std::string body = frame(1, ts + " hello\n") + frame(2, ts + " " + long_text);
  for (char c : body) ASSERT_TRUE(pump.feed(std::string_view(&c, 1)));
  ASSERT_TRUE(pump.finish());
  ASSERT_GE(sink.outputs.size(), 3u);
  EXPECT_EQ(sink.outputs[0],
            (nlohmann::json{{"stream", "stdout"}, {"timestamp", ts}, {"text", "hello\n"}}));
  EXPECT_EQ(sink.outputs[1]["timestamp"], ts);
  EXPECT_FALSE(sink.outputs[2].contains("timestamp"));
  EXPECT_EQ(sink.text_of("stderr"), long_text);
}

TEST(OutputPump, TtyBytesGoOutAsTheyArrive) {
  RecordingSink sink;
  OutputPump pump(sink, {.tty = true});
  ASSERT_TRUE(pump.feed("no newline yet"));
  EXPECT_EQ(sink.outputs.size(), 1u);
  ASSERT_TRUE(pump.feed(std::string("\x01\x00\x00\x00", 4)));  // looks like a header, is not
  ASSERT_TRUE(pump.finish());
  EXPECT_EQ(sink.text_of("stdout"), std::string("no newline yet\x01\x00\x00\x00", 18));
}

TEST(OutputPump, TtyTimestampsArePerLine) {
  RecordingSink sink;
  OutputPump pump(sink, {.tty = true, .timestamps = true});
  const std::string ts = "2024-01-02T03:04:05Z";
  ASSERT_TRUE(pump.feed(ts + " a\r\n" + ts + " b"));
  ASSERT_TRUE(pump.feed("c\r\n"));
  ASSERT_TRUE(pump.finish());
  ASSERT_EQ(sink.outputs.size(), 2u);
  EXPECT_EQ(sink.outputs[0]["text"], "a\r\n");
  EXPECT_EQ(sink.outputs[1]["text"], "bc\r\n");
  EXPECT_EQ(sink.outputs[1]["timestamp"], ts);
}

TEST(OutputPump, RawChunksForTheRawCarriage) {
  RecordingSink sink;
  OutputPump pump(sink, {.raw_chunks = true});
  ASSERT_TRUE(pump.feed(frame(1, "out") + frame(2, "err")));
  ASSERT_TRUE(pump.finish());
  EXPECT_EQ(sink.raw_stdout, "out");
  EXPECT_EQ(sink.raw_stderr, "err");
  EXPECT_TRUE(sink.outputs.empty());
}

TEST(OutputPump, ErrorsAreReported) {
  RecordingSink sink;
  OutputPump system(sink, {});
  EXPECT_FALSE(system.feed(frame(1, "x") + frame(3, "daemon broke")));
  EXPECT_NE(system.error().find("daemon broke"), std::string::npos);
  EXPECT_FALSE(system.feed(frame(1, "more")));

  OutputPump bad(sink, {});
  EXPECT_FALSE(bad.feed(std::string("\x07\x00\x00\x00\x00\x00\x00\x01x", 9)));

  RecordingSink partial_sink;
  OutputPump partial(partial_sink, {});
  ASSERT_TRUE(partial.feed(frame(1, "abcdef").substr(0, 11)));
  EXPECT_FALSE(partial.finish());
  EXPECT_EQ(partial_sink.text_of("stdout"), "abc");  // what did arrive is not lost
}

TEST(OutputPump, PausesTheSourceWhileTheSinkIsCongested) {
  RecordingSink sink;
  FakeSource source;
  OutputPump pump(sink, {});
  pump.set_source(&source);
  ASSERT_TRUE(pump.feed(frame(1, "a")));
  EXPECT_FALSE(source.paused);
  sink.congested = true;
  ASSERT_TRUE(pump.feed(frame(1, "b")));
  EXPECT_TRUE(source.paused);
  EXPECT_TRUE(pump.paused());
  pump.on_writable();  // still congested: stays paused
  EXPECT_TRUE(source.paused);
  sink.congested = false;
  pump.on_writable();
  EXPECT_FALSE(source.paused);
  EXPECT_EQ(sink.text_of("stdout"), "ab");
}

}  // namespace
}  // namespace alk::ops

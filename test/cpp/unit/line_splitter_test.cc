// The splitter of the daemon's JSON-lines bodies, fed every way a body can be split across reads.
#include "wire/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace alk::wire {
namespace {

struct Split {
  bool ok = true;
  std::vector<std::string> lines;  // take_last's line included
};

// Pushes `body` in pieces of `step` bytes, taking every line after each push.
Split split(const std::string& body, size_t step, size_t max_line) {
  LineSplitter s(max_line);
  Split out;
  std::string_view line;
  for (size_t off = 0; off < body.size() && out.ok; off += step) {
    out.ok = s.push(std::string_view(body).substr(off, step));
    while (out.ok && s.next(line)) out.lines.emplace_back(line);
  }
  if (out.ok && s.take_last(line)) out.lines.emplace_back(line);
  return out;
}

TEST(LineSplitterTest, SplitsAcrossPieces) {
  LineSplitter s;
  std::string_view line;
  ASSERT_TRUE(s.push("{\"a\":1}\n{\"b\""));
  ASSERT_TRUE(s.next(line));
  EXPECT_EQ(line, "{\"a\":1}");
  EXPECT_FALSE(s.next(line));
  ASSERT_TRUE(s.push(":2}\r\n\n  \n{\"c\":3}"));
  ASSERT_TRUE(s.next(line));
  EXPECT_EQ(line, "{\"b\":2}");
  EXPECT_FALSE(s.next(line));
  ASSERT_TRUE(s.take_last(line));
  EXPECT_EQ(line, "{\"c\":3}");
  EXPECT_FALSE(s.take_last(line));
}

TEST(LineSplitterTest, SameLinesAtEverySplit) {
  const std::string body =
      "{\"status\":\"Pulling\"}\r\n\n \t\n{\"id\":\"x\",\"progress\":\"[=>  ]\"}\n"
      "\r\n{\"last\":true}";
  const std::vector<std::string> want = {
      "{\"status\":\"Pulling\"}", "{\"id\":\"x\",\"progress\":\"[=>  ]\"}", "{\"last\":true}"};
  for (size_t step = 1; step <= body.size(); ++step) {
    const Split got = split(body, step, 64);
    ASSERT_TRUE(got.ok) << "step " << step;
    EXPECT_EQ(got.lines, want) << "step " << step;
  }
}

TEST(LineSplitterTest, BoundsAnUnterminatedLine) {
  LineSplitter s(8);
  EXPECT_TRUE(s.push("12345\n1234"));
  EXPECT_TRUE(s.push("5678"));
  EXPECT_FALSE(s.push("9"));
  EXPECT_FALSE(s.push("\n"));  // sticky
}

TEST(LineSplitterTest, ALongLineIsAnErrorWhetherWholeOrInPieces) {
  // 9 bytes over a limit of 8: refused at every split, including one push of the whole line.
  const std::string body = "ok\n123456789\nmore\n";
  for (size_t step = 1; step <= body.size(); ++step) {
    EXPECT_FALSE(split(body, step, 8).ok) << "step " << step;
  }
  // At the limit exactly: accepted (a CR counts, the LF does not).
  for (size_t step = 1; step <= 12; ++step) {
    const Split got = split("1234567\r\n12345678", step, 8);
    ASSERT_TRUE(got.ok) << "step " << step;
    EXPECT_EQ(got.lines, (std::vector<std::string>{"1234567", "12345678"}));
  }
}

TEST(LineSplitterTest, AMegabyteLineInSmallReadsThenManyLines) {
  // The long line's bytes are searched once, not again on every read.
  LineSplitter s(2u << 20);
  std::string_view line;
  const std::string piece(1000, 'x');
  for (int i = 0; i < 1024; ++i) {
    ASSERT_TRUE(s.push(piece));
    ASSERT_FALSE(s.next(line));
  }
  ASSERT_TRUE(s.push("\n{}\n"));
  ASSERT_TRUE(s.next(line));
  EXPECT_EQ(line.size(), 1024u * 1000u);
  ASSERT_TRUE(s.next(line));
  EXPECT_EQ(line, "{}");
  EXPECT_FALSE(s.next(line));
}

TEST(LineSplitterTest, BytesPushedAfterTakeLastStartANewLine) {
  LineSplitter s(8);
  std::string_view line;
  ASSERT_TRUE(s.push("a\n12345678"));
  ASSERT_TRUE(s.next(line));
  ASSERT_TRUE(s.take_last(line));
  EXPECT_EQ(line, "12345678");
  // The taken rest no longer counts towards the next line's length.
  ASSERT_TRUE(s.push("abcdefgh\n"));
  ASSERT_TRUE(s.next(line));
  EXPECT_EQ(line, "abcdefgh");
}

}  // namespace
}  // namespace alk::wire

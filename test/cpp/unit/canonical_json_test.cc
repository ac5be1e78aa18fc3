// wire::is_canonical_json and wire::canonical_responded_output: what they accept is exactly what
// nlohmann's dump() prints (checked on generated values and on mutations of their text), and the
// frame fast path takes only our own call.responded frames.
#include "wire/canonical_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "ops/output_events.h"
#include "wire/envelope.h"
#include "wire/frame_decoder.h"

namespace alk::test {
namespace {

using nlohmann::json;
using wire::canonical_responded_output;
using wire::is_canonical_json;

std::string dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The property the fast path relies on: accepted text is what dump() prints for its value.
void expect_round_trip_if_accepted(const std::string& text) {
  if (!is_canonical_json(text)) return;
  const json v = json::parse(text, nullptr, false);
  ASSERT_FALSE(v.is_discarded()) << "accepted invalid JSON: " << text;
  EXPECT_EQ(dump(v), text) << "accepted non-canonical text";
}

TEST(CanonicalJson, AcceptsWhatDumpPrints) {
  for (const json& v : {
           json(nullptr),
           json(true),
           json(false),
           json(0),
           json(-1),
           json(42),
           json(999999999999999999LL),
           json(-999999999999999999LL),
           json(""),
           json("a\"b\\c/d"),
           json(std::string("\x01\x1f\b\f\n\r\t\x7f", 8)),
           json("wörld ✓ 𝄞"),
           json::array(),
           json::object(),
           json::array({1, "x", nullptr, json::array({json::object()})}),
           json{{"stream", "stdout"}, {"text", "hello\n"}},
           json{{"a", 1}, {"B", 2}, {"aa", 3}, {"\xc3\xa9", 4}, {"", 5}},
           json{{"exitCode", 7}, {"terminal", true}},
       }) {
    const std::string text = dump(v);
    EXPECT_TRUE(is_canonical_json(text)) << text;
  }
}

TEST(CanonicalJson, RefusesOtherForms) {
  for (const char* text : {
           "",
           " 1",
           "1 ",
           "{\"a\": 1}",
           "[1, 2]",
           "{\"b\":1,\"a\":2}",   // unsorted
           "{\"a\":1,\"a\":2}",   // duplicate
           "\"\\/\"",             // needless escape
           "\"\\u0041\"",         // needless \u
           "\"\\u00E9\"",         // non-ASCII as \u
           "\"\\u000a\"",         // has a short form
           "\"\\u001F\"",         // uppercase hex
           "\"\\ud834\\udd1e\"",  // surrogate pair
           "\"\x01\"",            // raw control character
           "\"\xc3\"",            // truncated UTF-8
           "\"\xc0\xaf\"",        // overlong
           "\"\xed\xa0\x80\"",    // surrogate in UTF-8
           "1.5",
           "1e3",
           "-0",
           "01",
           "1234567890123456789",  // 19 digits: may not round-trip through int64
           "tru",
           "nul",
           "[1,]",
           "{\"a\":1,}",
           "{\"a\\\"\":1}",  // escaped key: sorted by unescaped bytes; left to the parser
           "[1]]",
           "\"abc",
       }) {
    EXPECT_FALSE(is_canonical_json(text)) << text;
  }
}

TEST(CanonicalJson, DepthLimit) {
  const std::string deep = std::string(5, '[') + std::string(5, ']');
  EXPECT_TRUE(is_canonical_json(deep, 5));
  EXPECT_FALSE(is_canonical_json(deep, 4));
}

// Random values of every kind; their dump must be accepted unless it holds something outside the
// canonical subset (floats, huge integers, escaped keys).
json random_value(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 3 ? 5 : 7);
  const char alphabet[] = "ab\"\\/\n\x01\x7f\xc3\xa9 z";
  auto random_string = [&] {
    std::string s;
    const int n = std::uniform_int_distribution<int>(0, 6)(rng);
    for (int i = 0; i < n; ++i) {
      const int k = std::uniform_int_distribution<int>(0, sizeof(alphabet) - 2)(rng);
      if (alphabet[k] == '\xc3') {
        s += "\xc3\xa9";
      } else if (alphabet[k] != '\xa9') {
        s += alphabet[k];
      }
    }
    return s;
  };
  switch (kind(rng)) {
    case 0:
      return nullptr;
    case 1:
      return std::uniform_int_distribution<int>(0, 1)(rng) == 1;
    case 2:
      return std::uniform_int_distribution<int64_t>(-1000000, 1000000)(rng);
    case 3:
      return std::uniform_int_distribution<int64_t>(INT64_MIN / 10, INT64_MAX / 10)(rng);
    case 4:
    case 5:
      return random_string();
    case 6: {
      json a = json::array();
      const int n = std::uniform_int_distribution<int>(0, 4)(rng);
      for (int i = 0; i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      const int n = std::uniform_int_distribution<int>(0, 4)(rng);
      for (int i = 0; i < n; ++i) o[random_string()] = random_value(rng, depth + 1);
      return o;
    }
  }
}

TEST(CanonicalJson, GeneratedValuesAndTheirMutations) {
  std::mt19937 rng(20261127);
  size_t accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    const json v = random_value(rng, 0);
    const std::string text = dump(v);
    expect_round_trip_if_accepted(text);
    if (is_canonical_json(text)) {
      ++accepted;
    } else {
      // Only escaped keys and 19-digit integers fall outside what the scanner takes.
      const bool expected_refusal =
          text.find("\\") != std::string::npos || std::regex_search(text, std::regex("[0-9]{19}"));
      EXPECT_TRUE(expected_refusal) << "refused a dump: " << text;
    }
    // Mutations: whatever is accepted must still round-trip.
    for (int m = 0; m < 8 && !text.empty(); ++m) {
      std::string t = text;
      const size_t at = std::uniform_int_distribution<size_t>(0, t.size() - 1)(rng);
      const char repl[] = "{}[],:\" \\01-ex\x80\xff";
      switch (m % 3) {
        case 0:
          t[at] = repl[std::uniform_int_distribution<size_t>(0, sizeof(repl) - 2)(rng)];
          break;
        case 1:
          t.erase(at, 1);
          break;
        default:
          t.insert(at, 1, repl[std::uniform_int_distribution<size_t>(0, sizeof(repl) - 2)(rng)]);
      }
      expect_round_trip_if_accepted(t);
    }
  }
  EXPECT_GT(accepted, 2000u);
}

TEST(CanonicalRespondedOutput, TakesOurOwnFrames) {
  for (const bool timestamp : {false, true}) {
    for (const std::string_view bytes :
         {std::string_view("hello\n"), std::string_view("\xff\xfe")}) {
      std::string event;
      ops::append_output_event(event, "stderr", bytes, timestamp ? "2026-11-27T10:00:00.1Z" : "");
      std::string frame;
      ASSERT_TRUE(
          wire::append_frame_raw(frame, wire::kResponded, "c1", R"({"output":)" + event + "}"));
      const std::string_view body = std::string_view(frame).substr(wire::kFramePrefixBytes);
      const auto output = canonical_responded_output(body);
      ASSERT_TRUE(output.has_value()) << body;
      EXPECT_EQ(*output, event);
      // The event text is what dump() prints for it: the CLI output did not change.
      EXPECT_EQ(dump(json::parse(event)), event);
    }
  }
  // Frames encoded from values (respond(json) answers, e.g. the exit code of run) too.
  std::string frame;
  wire::append_frame(frame, {std::string(wire::kResponded), "c7",
                             json{{"output", {{"exitCode", 7}, {"terminal", true}}}}});
  EXPECT_EQ(canonical_responded_output(std::string_view(frame).substr(4)),
            std::optional<std::string_view>(R"({"exitCode":7,"terminal":true})"));
}

TEST(CanonicalRespondedOutput, LeavesEverythingElseToTheParser) {
  for (const char* body : {
           R"({"type":"call.completed","id":"c1","payload":{}})",
           R"({"type":"call.error","id":"c1","payload":{"output":1}})",
           R"({"id":"c1","payload":{"output":1},"type":"call.responded"})",
           R"({"type":"call.responded","id":"c1","payload":{"output":1,"x":{}}})",
           R"({"type":"call.responded","id":"c1","payload":{"output":{"b":1,"a":2}}})",
           R"({"type":"call.responded","id":"c\"1","payload":{"output":1}})",
           R"({"type":"call.responded","id":"c1","payload":{"output":1}} )",
           R"({"type":"call.responded","id":"c1","payload":{"output": 1}})",
           R"({"type":"call.responded","id":"c1","payload":{"output":}})",
           R"({"type":"call.responded","id":"c1","payload":{"output":1})",
           R"({"type":"call.responded","id":"c1")",
       }) {
    EXPECT_FALSE(canonical_responded_output(body).has_value()) << body;
  }
  // Nesting: the whole body must stay within the decoder's 128 levels.
  const auto nested = [](int levels) {
    return R"({"type":"call.responded","id":"c1","payload":{"output":)" + std::string(levels, '[') +
           std::string(levels, ']') + "}}";
  };
  EXPECT_TRUE(canonical_responded_output(nested(126)).has_value());
  EXPECT_FALSE(canonical_responded_output(nested(127)).has_value());
  wire::Envelope env;
  EXPECT_EQ(wire::parse_envelope(nested(126), env), wire::FrameError::none);
  EXPECT_EQ(wire::parse_envelope(nested(127), env), wire::FrameError::malformed_json);
}

TEST(FrameDecoderBodies, NextBodyAndPartial) {
  std::string bytes;
  wire::append_frame_raw(bytes, wire::kResponded, "c1", R"({"output":1})");
  wire::append_frame_raw(bytes, wire::kCompleted, "c1", "{}");
  wire::FrameDecoder d;
  d.push(std::string_view(bytes).substr(0, bytes.size() - 3));
  auto first = d.next_body();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, R"({"type":"call.responded","id":"c1","payload":{"output":1}})");
  EXPECT_TRUE(d.partial());  // the second frame is cut short
  EXPECT_FALSE(d.next_body().has_value());
  d.push(std::string_view(bytes).substr(bytes.size() - 3));
  auto second = d.next_body();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, R"({"type":"call.completed","id":"c1","payload":{}})");
  EXPECT_FALSE(d.partial());
  EXPECT_FALSE(d.next_body().has_value());
  EXPECT_EQ(d.error(), wire::FrameError::none);
}

}  // namespace
}  // namespace alk::test

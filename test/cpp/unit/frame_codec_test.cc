// Call-protocol frames: encoding against the shared byte vectors, and the incremental decoder at
// every byte split, on valid frames, truncations and every kind of rejection.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "wire/envelope.h"
#include "wire/frame_decoder.h"
#include "wire_test_helpers.h"

namespace alk::wire {
namespace {

using nlohmann::json;
using test::all_splits;
using test::call_vectors;
using test::from_hex;
using test::to_hex;

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  put_u32_be(s.data(), v);
  return s;
}

std::string frame_of_body(std::string_view body) {
  return be32(static_cast<uint32_t>(body.size())) + std::string(body);
}

Envelope envelope_of_vector(const json& v) {
  return Envelope{v.at("type").get<std::string>(), v.at("id").get<std::string>(), v.at("payload")};
}

testing::AssertionResult same_envelope(const Envelope& a, const Envelope& b) {
  if (a.type == b.type && a.id == b.id && a.payload == b.payload) {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure()
         << "{" << a.type << ", " << a.id << ", " << a.payload.dump() << "} != {" << b.type << ", "
         << b.id << ", " << b.payload.dump() << "}";
}

// Everything a decoder produced from one sequence of pushes, draining after every push.
struct Outcome {
  std::vector<Envelope> frames;
  FrameError error = FrameError::none;
  bool partial = false;
  std::string remaining;
};

Outcome decode(const std::vector<std::string_view>& pieces, uint32_t max = kMaxFrameBytes) {
  FrameDecoder d(max);
  Outcome o;
  for (std::string_view p : pieces) {
    d.push(p);
    while (auto env = d.next()) o.frames.push_back(std::move(*env));
  }
  o.error = d.error();
  o.partial = d.partial();
  o.remaining = d.take_remaining();
  return o;
}

void expect_same_outcome(const Outcome& got, const Outcome& want, const std::string& label) {
  SCOPED_TRACE(label);
  EXPECT_EQ(got.error, want.error) << describe(got.error) << " vs " << describe(want.error);
  EXPECT_EQ(got.partial, want.partial);
  EXPECT_EQ(to_hex(got.remaining), to_hex(want.remaining));
  ASSERT_EQ(got.frames.size(), want.frames.size());
  for (size_t i = 0; i < got.frames.size(); ++i) {
    EXPECT_TRUE(same_envelope(got.frames[i], want.frames[i])) << "frame " << i;
  }
}

// Decodes `bytes` whole, at every two-piece split and byte by byte; every way must give `want`.
void expect_outcome_at_every_split(std::string_view bytes, const Outcome& want,
                                   uint32_t max = kMaxFrameBytes) {
  for (const auto& split : all_splits(bytes)) {
    expect_same_outcome(decode(split.pieces, max), want, split.label);
  }
}

Outcome frames_outcome(std::vector<Envelope> frames) {
  return Outcome{std::move(frames), FrameError::none, false, {}};
}

Outcome error_outcome(FrameError e) {
  return Outcome{{}, e, false, {}};
}

// The vector file's "expect" strings, mapped to the decoder's verdicts. "connection closed" is not
// an error of the byte stream: the decoder just waits, with partial() telling a caller at EOF.
FrameError expected_error(const std::string& expect) {
  if (expect.starts_with("connection closed")) return FrameError::none;
  if (expect.starts_with("invalid frame (length")) return FrameError::too_large;
  if (expect.starts_with("invalid frame")) return FrameError::zero_length;
  if (expect.starts_with("invalid JSON")) return FrameError::malformed_json;
  if (expect.starts_with("invalid envelope")) return FrameError::bad_envelope;
  ADD_FAILURE() << "unknown expectation in the vector file: " << expect;
  return FrameError::none;
}

// An envelope body whose payload is `payload_json`, as the Rust side would write it.
std::string body_with_payload(std::string_view payload_json) {
  return R"({"type":"call.responded","id":"d","payload":)" + std::string(payload_json) + "}";
}

TEST(FrameVectors, FileHasEverySection) {
  const json& v = call_vectors();
  for (const char* section : {"frames", "reject", "chunks", "chunk_reject"}) {
    ASSERT_TRUE(v.contains(section)) << section;
    EXPECT_FALSE(v.at(section).empty()) << section;
  }
  // The chunk sections are exercised by chunk_codec_test.cc.
}

TEST(FrameVectors, EncodeGivesExactBytes) {
  for (const json& v : call_vectors().at("frames")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const std::string want = from_hex(v.at("hex").get<std::string>());
    const Envelope env = envelope_of_vector(v);
    EXPECT_EQ(to_hex(encode_frame(env)), to_hex(want));
    // The vector's JSON text is the body after the prefix.
    EXPECT_EQ(want.substr(kFramePrefixBytes), v.at("json").get<std::string>());

    // append_frame appends after existing bytes; the raw fast path gives the same bytes.
    std::string out = "xy";
    ASSERT_TRUE(append_frame(out, env));
    EXPECT_EQ(to_hex(out), to_hex("xy" + want));
    std::string raw;
    ASSERT_TRUE(append_frame_raw(raw, env.type, env.id, env.payload.dump()));
    EXPECT_EQ(to_hex(raw), to_hex(want));
  }
}

TEST(FrameVectors, DecodeAtEverySplit) {
  for (const json& v : call_vectors().at("frames")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const std::string bytes = from_hex(v.at("hex").get<std::string>());
    const Envelope want = envelope_of_vector(v);

    Envelope parsed;
    ASSERT_EQ(parse_envelope(v.at("json").get<std::string>(), parsed), FrameError::none);
    EXPECT_TRUE(same_envelope(parsed, want));

    expect_outcome_at_every_split(bytes, frames_outcome({want}));
  }
}

TEST(FrameVectors, AllFramesBackToBackAtEverySplit) {
  std::string stream;
  std::vector<Envelope> want;
  for (const json& v : call_vectors().at("frames")) {
    stream += from_hex(v.at("hex").get<std::string>());
    want.push_back(envelope_of_vector(v));
  }
  expect_outcome_at_every_split(stream, frames_outcome(want));
  // Several frames in one push, read one at a time.
  FrameDecoder d;
  d.push(stream);
  for (const Envelope& w : want) {
    auto got = d.next();
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(same_envelope(*got, w));
  }
  EXPECT_FALSE(d.next().has_value());
  EXPECT_FALSE(d.partial());
  EXPECT_EQ(d.error(), FrameError::none);
}

TEST(FrameVectors, RejectCases) {
  for (const json& v : call_vectors().at("reject")) {
    const std::string name = v.at("name").get<std::string>();
    const std::string expect = v.at("expect").get<std::string>();
    SCOPED_TRACE(name + ": " + expect);
    std::string hex = v.at("hex").get<std::string>();
    const FrameError want = expected_error(expect);
    if (hex.size() % 2 != 0) {
      // "truncated-body-then-eof" ends in a lone hex digit: half a byte is not a byte, so it is
      // dropped. Only a truncation vector may be cut this way.
      ASSERT_EQ(want, FrameError::none) << "odd-length hex in a non-truncation vector";
      hex.pop_back();
    }
    const std::string bytes = from_hex(hex);
    if (want == FrameError::none) {
      // Truncated: nothing decoded, no error, and every byte still pending.
      expect_outcome_at_every_split(bytes, Outcome{{}, FrameError::none, true, bytes});
    } else {
      expect_outcome_at_every_split(bytes, error_outcome(want));
    }
  }
}

TEST(FrameDecoder, EveryTruncationOfEveryVectorIsPartial) {
  for (const json& v : call_vectors().at("frames")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const std::string bytes = from_hex(v.at("hex").get<std::string>());
    for (size_t k = 1; k < bytes.size(); ++k) {
      const std::string cut = bytes.substr(0, k);
      expect_same_outcome(decode({cut}), Outcome{{}, FrameError::none, true, cut},
                          "prefix of " + std::to_string(k));
    }
  }
  FrameDecoder empty;
  EXPECT_FALSE(empty.next().has_value());
  EXPECT_FALSE(empty.partial());
}

TEST(FrameDecoder, TrailingBytesStayBuffered) {
  const json& vector = call_vectors().at("frames").at(0);
  const std::string frame = from_hex(vector.at("hex").get<std::string>());
  const Envelope want = envelope_of_vector(vector);
  const std::string trailing = "\x09\x09\x09\x09";
  FrameDecoder d;
  d.push(frame + trailing);
  ASSERT_TRUE(d.next().has_value());
  EXPECT_TRUE(d.partial());
  EXPECT_EQ(d.error(), FrameError::none);
  EXPECT_EQ(to_hex(d.take_remaining()), "09090909");
  EXPECT_FALSE(d.partial());

  // Bytes too short for a prefix stay buffered through any number of next() calls.
  const std::string stub("\x00\x00", 2);
  expect_outcome_at_every_split(frame + stub, Outcome{{want}, FrameError::none, true, stub});

  // Drained past the frame, 09090909 reads as a length prefix of 151 587 081: too large.
  expect_same_outcome(decode({frame + trailing}), Outcome{{want}, FrameError::too_large, false, {}},
                      "drained");
}

TEST(FrameDecoder, TakeRemainingHandsOverTheRawCarriage) {
  const std::string frame =
      from_hex(call_vectors().at("frames").back().at("hex").get<std::string>());
  const std::string chunk = from_hex("00000000176563686f2068656c6c6f2d66726f6d2d6174746163680a");
  FrameDecoder d;
  d.push(frame + chunk);
  auto env = d.next();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->payload.at("carriage"), "raw");
  EXPECT_EQ(to_hex(d.take_remaining()), to_hex(chunk));
  EXPECT_FALSE(d.partial());
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.error(), FrameError::none);
}

TEST(FrameDecoder, GarbageJsonIsMalformed) {
  const std::vector<std::string> bodies = {
      "hello",
      "{",
      R"({"type":)",
      "[1,2",
      R"({"type":"a","id":"b","payload":{}} {})",
      R"({"type":"a","id":"b","payload":{},})",
      R"({'type':'a'})",
      "\"unterminated",
      "nul",
      std::string("\0", 1),
      " ",
      R"({"type":"a","id":"b","payload":"\x"})",
      R"({"type":"a","id":"b","payload":"\ud800"})",                 // lone surrogate escape
      "{\"type\":\"a\",\"id\":\"\xc0\x80\",\"payload\":1}",          // overlong UTF-8
      "{\"type\":\"a\",\"id\":\"b\",\"payload\":\"\xed\xa0\x80\"}",  // encoded surrogate
      "{\"type\":\"a\",\"id\":\"b\",\"payload\":\"\x01\"}",          // raw control character
      R"({"type":"a","id":"b","payload":1e400})",  // beyond double range (serde_json agrees)
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(to_hex(body));
    expect_outcome_at_every_split(frame_of_body(body), error_outcome(FrameError::malformed_json));
    FrameDecoder d;
    d.push(frame_of_body(body));
    d.next();
    EXPECT_FALSE(d.error_detail().empty());
  }
}

TEST(FrameDecoder, WrongTypedEnvelopeFieldsAreBadEnvelope) {
  const std::vector<std::string> bodies = {
      R"({"type":1,"id":"b","payload":{}})",
      R"({"type":null,"id":"b","payload":{}})",
      R"({"type":"a","id":7,"payload":{}})",
      R"({"type":"a","id":null,"payload":{}})",
      R"({"type":"a","id":{"x":"y"},"payload":{}})",
      R"({"type":["a"],"id":"b","payload":{}})",
      R"({"type":true,"id":"b","payload":{}})",
      R"({"id":"b","payload":{}})",
      R"({"type":"a","payload":{}})",
      R"({"type":"a","id":"b"})",
      R"({"Type":"a","id":"b","payload":{}})",
      R"({})",
      R"([])",
      R"(["call.completed","a",{}])",
      R"("call.completed")",
      R"(42)",
      R"(null)",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    expect_outcome_at_every_split(frame_of_body(body), error_outcome(FrameError::bad_envelope));
  }
}

TEST(FrameDecoder, AnyPayloadTypeIsAccepted) {
  for (const char* payload :
       {"null", "0", "-1.5e3", "\"s\"", "[]", "[1,{\"a\":[]}]", "true", "{}"}) {
    SCOPED_TRACE(payload);
    const Envelope want{"call.responded", "d", json::parse(payload)};
    expect_outcome_at_every_split(frame_of_body(body_with_payload(payload)),
                                  frames_outcome({want}));
  }
}

TEST(FrameDecoder, NestingDepthLimit) {
  // The envelope object is level 1, so 127 arrays in the payload reach exactly 128.
  auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  const std::string ok = frame_of_body(body_with_payload(nested(127)));
  const std::string deep = frame_of_body(body_with_payload(nested(128)));
  const Outcome accepted = decode({ok});
  ASSERT_EQ(accepted.error, FrameError::none);
  ASSERT_EQ(accepted.frames.size(), 1u);
  EXPECT_EQ(accepted.frames[0].payload, json::parse(nested(127)));
  expect_same_outcome(decode({deep}), error_outcome(FrameError::malformed_json), "129 levels");
  // Objects count as well as arrays.
  std::string objects;
  for (int i = 0; i < 128; ++i) objects += R"({"k":)";
  objects += "1" + std::string(128, '}');
  expect_same_outcome(decode({frame_of_body(body_with_payload(objects))}),
                      error_outcome(FrameError::malformed_json), "129 object levels");
  // Far deeper input is rejected without parsing it.
  expect_same_outcome(decode({frame_of_body(body_with_payload(nested(100000)))}),
                      error_outcome(FrameError::malformed_json), "100000 levels");

  // Brackets inside strings, including after an escaped quote, are text, not nesting.
  const std::string text = "\"\\\"" + std::string(300, '[') + "\"";
  const Outcome in_string = decode({frame_of_body(body_with_payload(text))});
  ASSERT_EQ(in_string.error, FrameError::none);
  ASSERT_EQ(in_string.frames.size(), 1u);
  EXPECT_EQ(in_string.frames[0].payload, "\"" + std::string(300, '['));
}

TEST(FrameDecoder, LengthLimits) {
  // Exactly 64 MiB is a valid length: the decoder waits for the body.
  const std::string max_prefix = be32(kMaxFrameBytes);
  EXPECT_EQ(to_hex(max_prefix), "04000000");
  expect_outcome_at_every_split(max_prefix, Outcome{{}, FrameError::none, true, max_prefix});
  expect_outcome_at_every_split(be32(kMaxFrameBytes + 1), error_outcome(FrameError::too_large));
  expect_outcome_at_every_split(be32(0xFFFFFFFF), error_outcome(FrameError::too_large));
  expect_outcome_at_every_split(be32(0), error_outcome(FrameError::zero_length));

  // A smaller configured limit is honoured the same way.
  const std::string body = body_with_payload("\"" + std::string(40, 'x') + "\"");
  const uint32_t n = static_cast<uint32_t>(body.size());
  const Envelope want{"call.responded", "d", std::string(40, 'x')};
  expect_outcome_at_every_split(frame_of_body(body), frames_outcome({want}), n);
  expect_outcome_at_every_split(frame_of_body(body), error_outcome(FrameError::too_large), n - 1);
}

TEST(FrameDecoder, FullSixtyFourMiBFrame) {
  const std::string head = R"({"type":"call.responded","id":"big","payload":")";
  const size_t fill = kMaxFrameBytes - head.size() - 2;  // the closing quote and brace
  const std::string payload_json = "\"" + std::string(fill, 'a') + "\"";

  std::string frame;
  ASSERT_TRUE(append_frame_raw(frame, "call.responded", "big", payload_json));
  ASSERT_EQ(frame.size(), kFramePrefixBytes + kMaxFrameBytes);
  EXPECT_EQ(to_hex(frame.substr(0, 4)), "04000000");

  // One more byte does not fit: false, and `out` is left as it was.
  std::string over = "keep";
  EXPECT_FALSE(append_frame_raw(over, "call.responded", "big!", payload_json));
  EXPECT_EQ(over, "keep");
  Envelope too_big{"call.responded", "big!", std::string(fill, 'a')};
  EXPECT_FALSE(append_frame(over, too_big));
  EXPECT_EQ(over, "keep");
  EXPECT_TRUE(encode_frame(too_big).empty());

  const std::string_view view(frame);
  const Outcome o = decode(test::fixed_pieces(view, 7u << 20));
  ASSERT_EQ(o.error, FrameError::none) << describe(o.error);
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0].id, "big");
  EXPECT_EQ(o.frames[0].payload.get_ref<const std::string&>().size(), fill);
  EXPECT_FALSE(o.partial);
}

TEST(FrameDecoder, LongStreamsAcrossBufferCompaction) {
  // Half a megabyte of frames of varying size: the decoder's buffer advances past 64 KiB and
  // compacts, both when fed in odd-sized pieces and when everything arrives in one push.
  std::string stream;
  std::vector<Envelope> want;
  for (int i = 0; i < 2500; ++i) {
    want.push_back({"call.responded", "s-" + std::to_string(i),
                    json{{"output", std::string(static_cast<size_t>(i % 251), 'a' + i % 26)}}});
    stream += encode_frame(want.back());
  }
  const std::string tail = stream.substr(0, 10);  // the start of one more frame
  stream += tail;
  const Outcome want_outcome{want, FrameError::none, true, tail};
  for (size_t piece : {size_t{3001}, size_t{65537}, stream.size()}) {
    expect_same_outcome(decode(test::fixed_pieces(stream, piece)), want_outcome,
                        "pieces of " + std::to_string(piece));
  }
  FrameDecoder d;
  d.push(stream);
  for (size_t i = 0; i < want.size(); ++i) {
    auto env = d.next();
    ASSERT_TRUE(env.has_value()) << i;
    ASSERT_TRUE(same_envelope(*env, want[i])) << i;
    if (i == want.size() / 2) d.push(std::string_view("x"));  // appends during compaction
  }
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.take_remaining(), tail + "x");
}

TEST(FrameDecoder, KeyOrderAndExtraKeysDoNotMatter) {
  const std::array<std::string, 3> members = {
      R"("type":"call.error")", R"("id":"req-7")",
      R"("payload":{"retryable":true,"code":"X","message":"m"})"};
  const Envelope want{"call.error", "req-7",
                      json{{"code", "X"}, {"message", "m"}, {"retryable", true}}};
  std::array<int, 3> order = {0, 1, 2};
  do {
    std::string body = "{";
    for (int i : order) body += members[i] + ",";
    body += R"("extra":[1,2])";
    body += "}";
    SCOPED_TRACE(body);
    expect_outcome_at_every_split(frame_of_body(body), frames_outcome({want}));
    // With insignificant whitespace everywhere as well.
    std::string spaced = " \n{ ";
    for (int i : order) spaced += members[i] + " ,\t";
    spaced += R"("extra" : null } )";
    expect_same_outcome(decode({frame_of_body(spaced)}), frames_outcome({want}), "spaced");
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(FrameDecoder, ErrorsAreSticky) {
  const std::string good = from_hex(call_vectors().at("frames").at(1).at("hex").get<std::string>());
  for (const std::string& bad :
       {be32(0), be32(kMaxFrameBytes + 1), frame_of_body("nope"), frame_of_body("[]")}) {
    FrameDecoder d;
    d.push(good + bad + good);
    EXPECT_TRUE(d.next().has_value());
    EXPECT_FALSE(d.next().has_value());
    const FrameError e = d.error();
    ASSERT_NE(e, FrameError::none);
    EXPECT_FALSE(d.partial());
    d.push(good);
    EXPECT_FALSE(d.next().has_value());
    EXPECT_FALSE(d.next().has_value());
    EXPECT_EQ(d.error(), e);
    EXPECT_FALSE(d.partial());
    EXPECT_TRUE(d.take_remaining().empty());
  }
}

TEST(FrameCodec, RoundTripOfUnusualStrings) {
  std::string all_ascii;
  for (int c = 1; c < 0x80; ++c) all_ascii += static_cast<char>(c);
  const std::vector<Envelope> envs = {
      {"call.responded", all_ascii, json{{"output", all_ascii}}},
      {"", "", json::object()},
      {"call.requested", "ünï\xf0\x9f\x90\xb3", json{{"input", {{"k\"\\", "\u2028\t\r\n"}}}}},
      {"call.responded", std::string("nul\0inside", 10), json{{"output", std::string("\0", 1)}}},
      {"call.responded", "n", json{{"output", {1.5, -2, nullptr, true, "x"}}}},
  };
  std::string stream;
  for (const Envelope& e : envs) {
    const std::string frame = encode_frame(e);
    ASSERT_FALSE(frame.empty());
    EXPECT_EQ(get_u32_be(frame.data()), frame.size() - kFramePrefixBytes);
    // The body is the same JSON nlohmann writes for the whole envelope.
    EXPECT_EQ(json::parse(frame.substr(kFramePrefixBytes)),
              (json{{"type", e.type}, {"id", e.id}, {"payload", e.payload}}));
    stream += frame;
  }
  expect_outcome_at_every_split(stream, frames_outcome(envs));
}

TEST(FrameCodec, InvalidUtf8InPayloadIsReplacedNotThrown) {
  const Envelope env{"call.responded", "r",
                     json{{"output",
                           "a\xff"
                           "b"}}};
  std::string frame;
  ASSERT_NO_THROW(ASSERT_TRUE(append_frame(frame, env)));
  const Outcome o = decode({frame});
  ASSERT_EQ(o.error, FrameError::none);
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0].payload.at("output"),
            "a\xef\xbf\xbd"
            "b");
}

TEST(FrameCodec, DescribeNamesEveryError) {
  std::vector<std::string> seen;
  for (FrameError e : {FrameError::none, FrameError::zero_length, FrameError::too_large,
                       FrameError::malformed_json, FrameError::bad_envelope}) {
    const std::string text = describe(e);
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(std::count(seen.begin(), seen.end(), text), 0) << text;
    seen.push_back(text);
  }
}

}  // namespace
}  // namespace alk::wire

// The hand-rolled JSON text helpers: string escaping against nlohmann's dump, UTF-8 validation
// against a reference decoder, the incomplete-tail rule for chunked readers, and base64.
#include "wire/json_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wire_test_helpers.h"

namespace alk::wire {
namespace {

using test::from_hex;
using test::to_hex;

std::string escaped(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string nlohmann_dump(const std::string& s) {
  return nlohmann::json(s).dump();
}

// A straightforward decoder by the book (RFC 3629): the reference is_valid_utf8 must agree with.
bool reference_valid_utf8(std::string_view s) {
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len;
    uint32_t cp;
    if (b < 0x80) {
      len = 1, cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// The reference for utf8_incomplete_tail: the bytes from the last lead byte (within three of the
// end) when they are not complete yet and some continuation makes them valid.
size_t reference_incomplete_tail(std::string_view s) {
  const size_t n = s.size();
  for (size_t t = 1; t <= 3 && t <= n; ++t) {
    if ((static_cast<unsigned char>(s[n - t]) & 0xC0) == 0x80) continue;
    const std::string p(s.substr(n - t));
    if (reference_valid_utf8(p)) return 0;
    for (size_t extra = 1; t + extra <= 4; ++extra) {
      for (int b = 0x80; b <= 0xBF; ++b) {
        if (reference_valid_utf8(p + static_cast<char>(b) + std::string(extra - 1, '\x80'))) {
          return t;
        }
      }
    }
    return 0;
  }
  return 0;
}

// Valid sequences at the edges of every length class.
const std::vector<std::string>& boundary_sequences() {
  static const std::vector<std::string> seqs = {
      from_hex("c280"),     from_hex("dfbf"),   from_hex("e0a080"),   from_hex("ed9fbf"),
      from_hex("ee8080"),   from_hex("efbfbf"), from_hex("f0908080"), from_hex("f48fbfbf"),
      from_hex("e29883"),    // ☃
      from_hex("f09f90b3"),  // 🐳
  };
  return seqs;
}

TEST(JsonText, EscapingMatchesNlohmannForEveryAsciiByte) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(escaped(one), nlohmann_dump(one)) << "byte " << c;
    EXPECT_EQ(escaped("a" + one + "b"), nlohmann_dump("a" + one + "b")) << "byte " << c;
    all += one;
  }
  EXPECT_EQ(escaped(all), nlohmann_dump(all));
  // Spot checks of the forms serde_json and nlohmann share.
  EXPECT_EQ(escaped(std::string("\0\x1f\x7f", 3)), R"("\u0000\u001f)"
                                                   "\x7f\"");
  EXPECT_EQ(escaped("\b\f\n\r\t\"\\/"), R"("\b\f\n\r\t\"\\/")");
  EXPECT_EQ(escaped(""), R"("")");
}

TEST(JsonText, EscapingMatchesNlohmannForUtf8) {
  std::vector<std::string> samples = {"héllo ☃\n", "\u2028\u2029", "日本語テキスト",
                                      "\"quoted\" \\ 🐳\t",
                                      "\xef\xbb\xbf"
                                      "bom"};
  for (const std::string& seq : boundary_sequences()) samples.push_back("x" + seq + "\x01");
  for (const std::string& s : samples) {
    ASSERT_TRUE(is_valid_utf8(s)) << to_hex(s);
    EXPECT_EQ(escaped(s), nlohmann_dump(s)) << to_hex(s);
  }
  // Appends after whatever `out` holds.
  std::string out = "[";
  append_json_string(out, "é");
  out += ",";
  append_json_string(out, "\n");
  EXPECT_EQ(out, "[\"é\",\"\\n\"");
}

TEST(JsonText, ValidUtf8Accepted) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(is_valid_utf8(std::string("\0\x7f", 2)));
  for (const std::string& seq : boundary_sequences()) {
    EXPECT_TRUE(is_valid_utf8(seq)) << to_hex(seq);
  }
}

TEST(JsonText, InvalidUtf8Rejected) {
  const std::vector<const char*> cases = {
      "c080",     "c1bf",                                      // overlong 2-byte
      "e08080",   "e09fbf",                                    // overlong 3-byte
      "f0808080", "f08fbfbf",                                  // overlong 4-byte
      "eda080",   "edbfbf",                                    // UTF-16 surrogates
      "f4908080", "f7bfbfbf",                                  // past U+10FFFF
      "f5808080", "f8888080", "fc8480808080", "fe",     "ff",  // bytes that never lead
      "80",       "bf",       "c280bf",                        // lone continuation bytes
      "c2",       "e0a0",     "f09080",                        // truncated sequences
      "c241",     "e1804141", "f1808041",     "e1c080",  // a non-continuation inside a sequence
  };
  for (const char* hex : cases) {
    const std::string bad = from_hex(hex);
    EXPECT_FALSE(reference_valid_utf8(bad)) << hex;  // the case list itself is right
    EXPECT_FALSE(is_valid_utf8(bad)) << hex;
    // Wherever it sits relative to the eight-byte ASCII fast path.
    for (size_t pad = 0; pad < 10; ++pad) {
      const std::string before(pad, 'a');
      EXPECT_FALSE(is_valid_utf8(before + bad)) << hex << " after " << pad;
      EXPECT_FALSE(is_valid_utf8(before + bad + "0123456789")) << hex << " at " << pad;
    }
  }
}

TEST(JsonText, Utf8AgreesWithReferenceOnAllShortStrings) {
  // Every string of up to three bytes, and every 4-byte string with a lead of F0..F7 and a second
  // byte of any value (the byte that decides overlongs and range).
  std::string s;
  size_t mismatches = 0;
  auto check = [&](std::string_view v) {
    if (is_valid_utf8(v) != reference_valid_utf8(v) && ++mismatches <= 10) {
      ADD_FAILURE() << "disagreement on " << to_hex(v);
    }
  };
  for (uint32_t len = 1; len <= 3; ++len) {
    s.assign(len, '\0');
    for (uint32_t v = 0; v < (1u << (8 * len)); ++v) {
      for (uint32_t k = 0; k < len; ++k) s[k] = static_cast<char>(v >> (8 * k));
      check(s);
    }
  }
  s.assign(4, '\0');
  for (int lead = 0xF0; lead <= 0xF7; ++lead) {
    for (int second = 0; second < 256; ++second) {
      for (int rest : {0x80, 0xBF, 0x41, 0xC0}) {
        s = {static_cast<char>(lead), static_cast<char>(second), static_cast<char>(rest),
             static_cast<char>(rest ^ 0x3F)};
        check(s);
        check("abcdefgh" + s);
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// The one-pass validate-and-escape must agree with is_valid_utf8 + append_json_string, wherever
// the interesting byte sits relative to the sixteen-byte scan.
TEST(JsonText, EscapeIfUtf8AgreesWithTheTwoPasses) {
  size_t mismatches = 0;
  auto check = [&](std::string_view v) {
    std::string out = "prefix";
    const bool ok = append_json_string_if_utf8(out, v);
    const bool valid = is_valid_utf8(v);
    const std::string expected = valid ? "prefix" + escaped(v) : "prefix";
    if ((ok != valid || out != expected) && ++mismatches <= 10) {
      ADD_FAILURE() << "disagreement on " << to_hex(v) << ": " << out;
    }
  };
  std::string s(2, '\0');
  for (uint32_t v = 0; v < (1u << 16); ++v) {
    s[0] = static_cast<char>(v);
    s[1] = static_cast<char>(v >> 8);
    check(s);
  }
  std::vector<std::string> pieces = boundary_sequences();
  for (const char* hex : {"c080", "eda080", "f4908080", "ff", "80", "c2", "e0a0", "c241"}) {
    pieces.push_back(from_hex(hex));
  }
  for (const char* text : {"\"", "\\", "\n", "\x01", "\x7f", "é"}) pieces.emplace_back(text);
  for (const std::string& piece : pieces) {
    for (size_t pad = 0; pad < 34; ++pad) {
      check(std::string(pad, 'a') + piece);
      check(std::string(pad, 'a') + piece + std::string(33 - pad, 'b'));
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(JsonText, IncompleteTailOfEveryTruncation) {
  for (const std::string& seq : boundary_sequences()) {
    for (size_t k = 1; k < seq.size(); ++k) {
      const std::string cut = seq.substr(0, k);
      EXPECT_EQ(utf8_incomplete_tail(cut), k) << to_hex(cut);
      EXPECT_EQ(utf8_incomplete_tail("text " + cut), k) << to_hex(cut);
      EXPECT_EQ(utf8_incomplete_tail(seq + cut), k) << to_hex(cut);
    }
    EXPECT_EQ(utf8_incomplete_tail(seq), 0u) << to_hex(seq);
    EXPECT_EQ(utf8_incomplete_tail("x" + seq), 0u) << to_hex(seq);
  }
  EXPECT_EQ(utf8_incomplete_tail(""), 0u);
  EXPECT_EQ(utf8_incomplete_tail("ascii"), 0u);
}

TEST(JsonText, IncompleteTailIsZeroWhenTheTailCanNeverBeValid) {
  for (const char* hex : {
           "c0",
           "c1",
           "f5",
           "ff",
           "fe",  // bytes that never lead
           "80",
           "41bf",
           "8080",
           "808080",
           "80808080",  // continuations without a lead
           "e080",
           "e09f",
           "eda0",
           "edbf",
           "f080",
           "f08f",
           "f490",  // bad second byte
           "c28080",
           "e0a08080",
           "f0908080"
           "80",  // more continuations than the lead allows
       }) {
    EXPECT_EQ(utf8_incomplete_tail(from_hex(hex)), 0u) << hex;
  }
}

TEST(JsonText, IncompleteTailAgreesWithReference) {
  // Every string of one or two bytes, and three-byte strings behind the interesting first bytes.
  size_t mismatches = 0;
  auto check = [&](const std::string& v) {
    if (utf8_incomplete_tail(v) != reference_incomplete_tail(v) && ++mismatches <= 10) {
      ADD_FAILURE() << to_hex(v) << ": " << utf8_incomplete_tail(v) << " vs "
                    << reference_incomplete_tail(v);
    }
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) check({static_cast<char>(a), static_cast<char>(b)});
  }
  for (int a : {0x41, 0x80, 0xC2, 0xE0, 0xE1, 0xED, 0xF0, 0xF1, 0xF4, 0xF5}) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        check({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(JsonText, IncompleteTailSplitsAValidStreamCleanly) {
  // A chunked reader holds back the tail and emits the rest: at every cut, the emitted part is
  // valid and the held-back part plus the remainder is valid too.
  std::string text = "héllo ☃ wörld 🐳 end";
  for (const std::string& seq : boundary_sequences()) text += seq;
  ASSERT_TRUE(is_valid_utf8(text));
  for (size_t k = 0; k <= text.size(); ++k) {
    const std::string_view head = std::string_view(text).substr(0, k);
    const size_t tail = utf8_incomplete_tail(head);
    ASSERT_LE(tail, 3u);
    EXPECT_TRUE(is_valid_utf8(head.substr(0, k - tail))) << k;
    EXPECT_TRUE(is_valid_utf8(std::string_view(text).substr(k - tail))) << k;
  }
}

TEST(JsonText, Base64KnownVectors) {
  const std::vector<std::pair<std::string, std::string>> rfc4648 = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {std::string("\xff\xfe\xfd", 3), "//79"},
      {std::string("\0", 1), "AA=="},
  };
  for (const auto& [raw, b64] : rfc4648) {
    std::string enc = "prefix:";
    append_base64(enc, raw);
    EXPECT_EQ(enc, "prefix:" + b64);
    std::string dec;
    ASSERT_TRUE(decode_base64(b64, dec)) << b64;
    EXPECT_EQ(to_hex(dec), to_hex(raw));
  }
}

TEST(JsonText, Base64RoundTripForLengthsUpTo64) {
  for (size_t n = 0; n <= 64; ++n) {
    std::string raw(n, '\0');
    for (size_t i = 0; i < n; ++i) raw[i] = static_cast<char>(i * 37 + n * 11 + 0x80);
    std::string enc;
    append_base64(enc, raw);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4) << n;
    std::string dec;
    ASSERT_TRUE(decode_base64(enc, dec)) << n;
    EXPECT_EQ(to_hex(dec), to_hex(raw)) << n;
  }
}

TEST(JsonText, Base64RejectsBadInput) {
  for (const char* bad : {
           "Z", "Zg", "Zg=", "Zg===", "Zm9vY",                  // not a multiple of four
           "====", "Z===", "=Zm9", "Zm=v", "Zg==Zg==",          // misplaced padding
           "Zm9v!A==", "Zm9v\nA==", "Zm 9", "Zm-_", "Zm9\x80",  // outside the alphabet
       }) {
    std::string out;
    EXPECT_FALSE(decode_base64(bad, out)) << bad;
  }
  std::string out;
  EXPECT_FALSE(decode_base64(std::string("Zm9\0", 4), out));
}

}  // namespace
}  // namespace alk::wire

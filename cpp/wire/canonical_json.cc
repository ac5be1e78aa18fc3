#include "wire/canonical_json.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace alk::wire {

namespace {

using Ptr = const unsigned char*;

// Length of the UTF-8 sequence at p (1..4), or 0 when it is not well-formed (overlong,
// surrogate, past U+10FFFF, truncated).
int utf8_sequence(Ptr p, Ptr end) {
  const unsigned char lead = p[0];
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (end - p < len || p[1] < lo || p[1] > hi) return 0;
  for (int k = 2; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
  }
  return len;
}

bool is_lower_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// a < b as std::map orders keys (bytes as unsigned char); keys are short, so a loop beats memcmp.
bool key_less(std::string_view a, std::string_view b) {
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

int hex_value(unsigned char c) {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

// Scans a string whose opening quote is at p[-1]. Returns the position after the closing quote,
// or nullptr when the string is not canonical. Sets *escaped when it contains an escape.
Ptr scan_string(Ptr p, Ptr end, bool* escaped) {
  for (;;) {
#if defined(__SSE2__)
    // Sixteen bytes at a time until one is '"', '\\', a control character or non-ASCII (the
    // signed compare puts bytes >= 0x80 below 0x20 too).
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i special =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                       _mm_cmplt_epi8(v, space));
      const int mask = _mm_movemask_epi8(special);
      if (mask != 0) {
        p += __builtin_ctz(static_cast<unsigned>(mask));
        break;
      }
      p += 16;
    }
#endif
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
    if (p == end) return nullptr;
    const unsigned char c = *p;
    if (c == '"') return p + 1;
    if (c < 0x20) return nullptr;
    if (c == '\\') {
      if (end - p < 2) return nullptr;
      *escaped = true;
      switch (p[1]) {
        case '"':
        case '\\':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          p += 2;
          continue;
        case 'u': {
          // Only control characters without a short form are written as \u00xx.
          if (end - p < 6 || p[2] != '0' || p[3] != '0' || !is_lower_hex(p[4]) ||
              !is_lower_hex(p[5])) {
            return nullptr;
          }
          const int v = hex_value(p[4]) * 16 + hex_value(p[5]);
          if (v >= 0x20 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t') {
            return nullptr;
          }
          p += 6;
          continue;
        }
        default:
          return nullptr;
      }
    }
    const int n = utf8_sequence(p, end);
    if (n == 0) return nullptr;
    p += n;
  }
}

// An integer that dump() prints the same: -?(0|[1-9][0-9]{0,17}), not -0.
Ptr scan_number(Ptr p, Ptr end) {
  const bool negative = *p == '-';
  if (negative) ++p;
  if (p == end) return nullptr;
  if (*p == '0') return negative ? nullptr : p + 1;
  if (*p < '1' || *p > '9') return nullptr;
  Ptr start = p;
  while (p < end && *p >= '0' && *p <= '9') ++p;
  return p - start <= 18 ? p : nullptr;
}

Ptr scan_literal(Ptr p, Ptr end, const char* word, size_t n) {
  if (static_cast<size_t>(end - p) < n || std::memcmp(p, word, n) != 0) return nullptr;
  return p + n;
}

// Scans one canonical value at p; returns the position after it, or nullptr. `depth` is the
// number of arrays/objects still allowed to open.
Ptr scan_value(Ptr p, Ptr end, int depth) {
  if (p == end) return nullptr;
  switch (*p) {
    case '"': {
      bool escaped = false;
      return scan_string(p + 1, end, &escaped);
    }
    case 't':
      return scan_literal(p, end, "true", 4);
    case 'f':
      return scan_literal(p, end, "false", 5);
    case 'n':
      return scan_literal(p, end, "null", 4);
    case '[': {
      if (depth == 0) return nullptr;
      ++p;
      if (p < end && *p == ']') return p + 1;
      for (;;) {
        p = scan_value(p, end, depth - 1);
        if (p == nullptr || p == end) return nullptr;
        if (*p == ']') return p + 1;
        if (*p != ',') return nullptr;
        ++p;
      }
    }
    case '{': {
      if (depth == 0) return nullptr;
      ++p;
      if (p < end && *p == '}') return p + 1;
      std::string_view previous;
      bool first = true;
      for (;;) {
        if (p == end || *p != '"') return nullptr;
        bool escaped = false;
        Ptr key_end = scan_string(p + 1, end, &escaped);
        // An escaped key sorts by its unescaped bytes; leave those to the full parser.
        if (key_end == nullptr || escaped) return nullptr;
        const std::string_view key(reinterpret_cast<const char*>(p + 1),
                                   static_cast<size_t>(key_end - p - 2));
        // std::map order (bytes as unsigned char), strictly increasing: sorted and unique.
        if (!first && !key_less(previous, key)) return nullptr;
        previous = key;
        first = false;
        p = key_end;
        if (p == end || *p != ':') return nullptr;
        p = scan_value(p + 1, end, depth - 1);
        if (p == nullptr || p == end) return nullptr;
        if (*p == '}') return p + 1;
        if (*p != ',') return nullptr;
        ++p;
      }
    }
    default:
      if (*p == '-' || (*p >= '0' && *p <= '9')) return scan_number(p, end);
      return nullptr;
  }
}

}  // namespace

bool is_canonical_json(std::string_view text, int max_depth) {
  Ptr p = reinterpret_cast<Ptr>(text.data());
  Ptr end = p + text.size();
  Ptr after = scan_value(p, end, max_depth);
  return after != nullptr && after == end;
}

std::optional<std::string_view> canonical_responded_output(std::string_view body) {
  constexpr std::string_view kHead = R"({"type":"call.responded","id":")";
  constexpr std::string_view kPayload = R"(","payload":{"output":)";
  constexpr std::string_view kTail = "}}";
  if (body.size() < kHead.size() + kPayload.size() + kTail.size() + 1 ||
      body.substr(0, kHead.size()) != kHead) {
    return std::nullopt;
  }
  size_t i = kHead.size();
  while (i < body.size()) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c == '"') break;
    if (c < 0x20 || c > 0x7E || c == '\\') return std::nullopt;
    ++i;
  }
  if (body.compare(i, kPayload.size(), kPayload) != 0) return std::nullopt;
  const size_t start = i + kPayload.size();
  if (body.size() < start + kTail.size() || body.substr(body.size() - kTail.size()) != kTail) {
    return std::nullopt;
  }
  const std::string_view output = body.substr(start, body.size() - kTail.size() - start);
  // The envelope and the payload are two levels: the decoder's limit is 128 for the whole body.
  if (!is_canonical_json(output, 126)) return std::nullopt;
  return output;
}

}  // namespace alk::wire

#include "wire/json_text.h"

#include <array>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace alk::wire {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Expected length of a sequence from its lead byte; 0 for a byte that cannot lead.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Allowed range of the second byte, which is where overlongs and surrogates are excluded.
bool second_byte_ok(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0:
      return b >= 0xA0 && b <= 0xBF;
    case 0xED:
      return b >= 0x80 && b <= 0x9F;
    case 0xF0:
      return b >= 0x90 && b <= 0xBF;
    case 0xF4:
      return b >= 0x80 && b <= 0x8F;
    default:
      return b >= 0x80 && b <= 0xBF;
  }
}

// Index of the first byte at or after `i` that needs escaping ('"', '\\', below 0x20) — or, with
// `stop_at_non_ascii`, that is not ASCII — or the size of `s`.
template <bool stop_at_non_ascii>
size_t next_special(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1F);
  const __m128i space = _mm_set1_epi8(0x20);
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i low = stop_at_non_ascii
                            // Signed: bytes >= 0x80 are negative, so below 0x20 as well.
                            ? _mm_cmplt_epi8(v, space)
                            // Unsigned v <= 0x1F exactly when max(v, 0x1F) == 0x1F.
                            : _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max);
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), low);
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < n && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\' &&
         (!stop_at_non_ascii || p[i] < 0x80)) {
    ++i;
  }
  return i;
}

// Length of the well-formed UTF-8 sequence at p (n bytes available), or 0.
size_t valid_sequence(const unsigned char* p, size_t n) {
  const unsigned char lead = p[0];
  const int len = sequence_length(lead);
  if (len == 0 || static_cast<size_t>(len) > n) return 0;
  if (len > 1) {
    if (!second_byte_ok(lead, p[1])) return 0;
    for (int k = 2; k < len; ++k) {
      if ((p[k] & 0xC0) != 0x80) return 0;
    }
  }
  return static_cast<size_t>(len);
}

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default: {
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(u, sizeof(u));
    }
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t run = 0;  // start of the current run of bytes that need no escaping
  for (size_t i = next_special<false>(s, 0); i < s.size(); i = next_special<false>(s, i + 1)) {
    out.append(s.data() + run, i - run);
    run = i + 1;
    append_escape(out, static_cast<unsigned char>(s[i]));
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

bool append_json_string_if_utf8(std::string& out, std::string_view s) {
  const size_t start = out.size();
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t run = 0;
  size_t i = next_special<true>(s, 0);
  while (i < s.size()) {
    if (p[i] >= 0x80) {
      const size_t len = valid_sequence(p + i, s.size() - i);
      if (len == 0) {
        out.resize(start);
        return false;
      }
      i = next_special<true>(s, i + len);
      continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    append_escape(out, p[i]);
    i = next_special<true>(s, i + 1);
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
  return true;
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char lead = p[i];
    const int len = sequence_length(lead);
    if (len == 0 || i + len > n) return false;
    if (len > 1) {
      if (!second_byte_ok(lead, p[i + 1])) return false;
      for (int k = 2; k < len; ++k) {
        if ((p[i + k] & 0xC0) != 0x80) return false;
      }
    }
    i += len;
  }
  return true;
}

size_t utf8_incomplete_tail(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  // Walk back over at most three continuation bytes to find the lead byte of the last sequence.
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = p[n - back];
    if ((c & 0xC0) == 0x80) continue;
    const int len = sequence_length(c);
    if (len <= 1 || static_cast<size_t>(len) <= back) return 0;
    if (back >= 2 && !second_byte_ok(c, p[n - back + 1])) return 0;
    return back;
  }
  return 0;
}

void append_base64(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  out.reserve(out.size() + (n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < n) {
    uint32_t v = p[i] << 16;
    if (i + 1 < n) v |= p[i + 1] << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += (i + 1 < n) ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
}

bool decode_base64(std::string_view text, std::string& out) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<int8_t>(i);
    return t;
  }();
  if (text.size() % 4 != 0) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      // Padding only in the last two positions, and nothing but padding after it.
      if (i + 2 < text.size()) return false;
      for (size_t k = i; k < text.size(); ++k) {
        if (text[k] != '=') return false;
      }
      break;
    }
    const int8_t v = table[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return true;
}

}  // namespace alk::wire

#include "support/numbered_lines.h"

#include <cstdint>
#include <cstdio>

namespace alk::test {

namespace {
const std::string kFill(80, 'x');
}

std::string numbered_lines_awk(size_t n, int exit_code) {
  return "BEGIN{for(i=0;i<" + std::to_string(n) + ";i++) printf \"line-%07d-" + kFill +
         "\\n\", i; exit " + std::to_string(exit_code) + "}";
}

std::string numbered_lines(size_t n) {
  std::string out;
  out.reserve(n * kNumberedLineBytes);
  char num[16];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(num, sizeof num, "%07zu", i);
    out += "line-";
    out += num;
    out += '-';
    out += kFill;
    out += '\n';
  }
  return out;
}

std::string pseudo_random_bytes(size_t n) {
  std::string out(n, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 56);
  }
  return out;
}

}  // namespace alk::test

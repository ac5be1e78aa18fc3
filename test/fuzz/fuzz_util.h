// Shared by the wire fuzzers: cutting the input into pushes, and a check that traps.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

// Traps (a crash libFuzzer reports) when an invariant does not hold.
#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace alk::fuzz {

/// Splits the input into pushes of 0..255 bytes: each length is taken from the end of the data,
/// the bytes from the front. A seed file is therefore `stream || reversed(piece lengths)`.
inline std::vector<std::string> consume_pieces(FuzzedDataProvider& fdp) {
  std::vector<std::string> pieces;
  while (fdp.remaining_bytes() > 0) {
    const size_t len = fdp.ConsumeIntegral<uint8_t>();
    pieces.push_back(fdp.ConsumeBytesAsString(len));
  }
  return pieces;
}

/// The pieces `times` times over: long enough streams reach the decoders' buffer compaction
/// (which starts past 64 KiB) while the input itself stays small.
inline std::vector<std::string> repeat(const std::vector<std::string>& pieces, int times) {
  std::vector<std::string> out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), pieces.begin(), pieces.end());
  return out;
}

inline std::string join(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += p;
  return out;
}

/// Inputs above this size are skipped: every invariant shows up on small streams.
inline constexpr size_t kMaxInputBytes = 16 * 1024;

}  // namespace alk::fuzz

// Small helpers shared by the wire codec tests: hex conversion, the shared vector file, and the
// set of ways to cut a byte string into pushes.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace alk::test {

/// Bytes of an even-length hex string; throws on anything else so a broken vector fails loudly.
inline std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit");
  };
  if (hex.size() % 2 != 0) throw std::invalid_argument("odd-length hex");
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  }
  return out;
}

inline std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

/// The shared, read-only call-protocol vectors (../shared/vectors/call-frames.json).
inline const nlohmann::json& call_vectors() {
  static const nlohmann::json doc = [] {
    std::ifstream in(ALK_SOURCE_DIR "/../shared/vectors/call-frames.json");
    if (!in) throw std::runtime_error("cannot open call-frames.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
  }();
  return doc;
}

/// Every way the tests cut `bytes` into pushes: whole, [0,k)+[k,n) for every k, byte by byte.
/// Each element is one sequence of pieces; the label says which, for failure messages.
struct Split {
  std::string label;
  std::vector<std::string_view> pieces;
};

inline std::vector<Split> all_splits(std::string_view bytes) {
  std::vector<Split> out;
  out.push_back({"whole", {bytes}});
  for (size_t k = 0; k <= bytes.size(); ++k) {
    out.push_back({"split at " + std::to_string(k), {bytes.substr(0, k), bytes.substr(k)}});
  }
  Split single{"byte by byte", {}};
  for (size_t i = 0; i < bytes.size(); ++i) single.pieces.push_back(bytes.substr(i, 1));
  out.push_back(std::move(single));
  return out;
}

/// `bytes` cut into pieces of `size` bytes (the last may be shorter).
inline std::vector<std::string_view> fixed_pieces(std::string_view bytes, size_t size) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < bytes.size(); i += size) out.push_back(bytes.substr(i, size));
  return out;
}

}  // namespace alk::test

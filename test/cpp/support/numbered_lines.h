// Large, exactly predictable payloads for the streaming tests: numbered lines printed by busybox
// awk inside the container (and the same bytes built here to compare against), and binary bytes.
#pragma once

#include <cstddef>
#include <string>

namespace alk::test {

/// Bytes per line of numbered_lines(): "line-0000042-" + 80 'x' + "\n".
inline constexpr size_t kNumberedLineBytes = 94;

/// An awk program (one argv word) printing numbered_lines(n), then exiting with `exit_code`.
std::string numbered_lines_awk(size_t n, int exit_code = 0);

/// What numbered_lines_awk(n) prints.
std::string numbered_lines(size_t n);

/// `n` bytes of every value (xorshift from a fixed seed: the same bytes every run), for binary
/// round trips through attach and exec.
std::string pseudo_random_bytes(size_t n);

}  // namespace alk::test

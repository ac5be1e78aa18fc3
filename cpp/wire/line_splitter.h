// Splits the daemon's JSON-lines bodies (events, stats, pull progress) into lines, incrementally
// and within a bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace alk::wire {

/// Splits a byte stream into lines: LF ends a line, a CR before it is dropped, blank lines are
/// skipped. A line longer than `max_line` bytes (its CR included, its LF not), whether it arrives
/// whole or in pieces, is an error: push() returns false, then and for ever after. Work is linear
/// in the bytes pushed, however the stream is split. Not thread-safe; one splitter per stream.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line = size_t{16} << 20) : max_line_(max_line) {}

  /// Appends bytes. False when a line is longer than max_line (sticky).
  bool push(std::string_view bytes);
  /// The next complete non-blank line, or false when none is buffered. `line` points into the
  /// splitter and is valid until the next push(), next() or take_last().
  bool next(std::string_view& line);
  /// At the end of the stream: the unterminated rest as a last line (false if blank).
  bool take_last(std::string_view& line);

 private:
  std::string buf_;
  size_t pos_ = 0;         // the first unread byte
  size_t scanned_ = 0;     // [pos_, scanned_) holds no LF: next() searches from here
  size_t line_start_ = 0;  // where the line that push() has not seen the end of begins
  size_t max_line_;
  bool failed_ = false;
};

}  // namespace alk::wire

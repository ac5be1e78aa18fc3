// The output events of logs, exec and run as JSON text, built without nlohmann on the hot path:
// {"stream":"stdout","text":"…"} — or "base64" when the bytes are not UTF-8 — plus "timestamp",
// with the keys sorted (the canonical form nlohmann's dump() prints).
#pragma once

#include <string>
#include <string_view>

namespace alk::ops {

/// Appends the event JSON for `bytes` of `stream` ("stdout"/"stderr") to `out`. `timestamp` is
/// added when non-empty.
void append_output_event(std::string& out, std::string_view stream, std::string_view bytes,
                         std::string_view timestamp = {});

/// Keeps multi-byte UTF-8 sequences whole across the pieces of one byte stream (a TTY or exec
/// stream split mid-character would otherwise go out as base64).
class Utf8Joiner {
 public:
  /// Returns the bytes to emit now: what was held back, plus `piece` without an incomplete tail
  /// (which is held back). The view points into `piece` or into internal storage, valid until the
  /// next call.
  std::string_view push(std::string_view piece);
  /// Whatever is held back (at the end of the stream).
  std::string take_rest();

 private:
  std::string carry_;
  std::string joined_;
};

/// Splits a docker log line "2024-01-01T00:00:00.000000000Z text" into timestamp and text when it
/// starts with an RFC 3339 timestamp followed by a space; otherwise the timestamp is empty.
void split_timestamp(std::string_view line, std::string_view& timestamp, std::string_view& text);

}  // namespace alk::ops

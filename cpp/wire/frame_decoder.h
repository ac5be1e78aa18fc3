// Incremental decoder of call-protocol frames: feed any byte split, get whole envelopes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "wire/byte_queue.h"
#include "wire/envelope.h"

namespace alk::wire {

/// Why a byte stream is not a valid sequence of frames. Every error is sticky: the stream carrying
/// it must be closed, since there is no way to find the next frame boundary.
enum class FrameError {
  none,
  zero_length,     ///< a length prefix of 0
  too_large,       ///< a length prefix above the limit (64 MiB by default)
  malformed_json,  ///< the body is not one JSON value in valid UTF-8, or nests deeper than 128
  bad_envelope,    ///< the JSON is not an object with string "type", string "id" and a "payload"
};

/// A short English description of `e`, e.g. "frame length is zero".
const char* describe(FrameError e);

/// Splits a byte stream into envelopes. Not thread-safe; one decoder per stream.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame_bytes = kMaxFrameBytes) : max_(max_frame_bytes) {}

  /// Buffers `bytes`. Ignored once an error has been reported.
  void push(std::string_view bytes);

  /// The next complete envelope, or nullopt when more bytes are needed or an error occurred
  /// (check error()).
  std::optional<Envelope> next();

  /// The body of the next complete frame, unparsed (length checks only), or nullopt when more
  /// bytes are needed or an error occurred (check error()). The frame counts as consumed; the view
  /// stays valid until the next call on this decoder. A receiver with a fast path for bodies it
  /// recognises parses the others with parse_envelope() (and reports its errors with fail()).
  std::optional<std::string_view> next_body();

  /// Makes `e` the sticky error (for a body from next_body() that parse_envelope() refused).
  void fail(FrameError e, std::string detail);

  /// The sticky error, or FrameError::none.
  FrameError error() const { return error_; }
  /// Details of the error for logs (the JSON parser's message, the offending length).
  const std::string& error_detail() const { return detail_; }

  /// True when bytes of an unfinished frame are buffered: an EOF now means the peer cut a frame
  /// short.
  bool partial() const { return buf_.size() > consumed_; }

  /// Removes and returns the bytes buffered after the last decoded frame (for a protocol switch,
  /// such as the raw carriage following call.requested).
  std::string take_remaining() {
    settle();
    return buf_.take_all();
  }

 private:
  // Drops the frame last returned by next_body().
  void settle() {
    buf_.consume(consumed_);
    consumed_ = 0;
  }

  uint32_t max_;
  size_t consumed_ = 0;  // bytes of the frame next_body() returned, still in buf_
  ByteQueue buf_;
  FrameError error_ = FrameError::none;
  std::string detail_;
};

/// Parses one frame body into an envelope (used by the decoder; exposed for tests and fuzzers).
/// Returns FrameError::none on success.
FrameError parse_envelope(std::string_view body, Envelope& out, std::string* detail = nullptr);

}  // namespace alk::wire

// Docker's multiplexed stream framing ([stream u8][0 0 0][length u32 BE][payload]) as a strict,
// incremental state machine: no heuristics, any byte split, bounded memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace alk::docker {

/// Docker stream ids inside the multiplexed framing.
enum class MuxStream : uint8_t { stdin_data = 0, stdout_data = 1, stderr_data = 2, system_err = 3 };

/// A piece of one frame's payload. A frame larger than one read arrives as several pieces;
/// `frame_end` marks the last piece of a frame (an empty frame yields one empty piece).
struct MuxPiece {
  MuxStream stream;
  std::string_view data;
  bool frame_end;
};

enum class MuxError {
  none,
  bad_stream_type,  ///< first header byte above 3
  bad_header,       ///< header bytes 1..3 not zero
};

const char* describe(MuxError e);

/// Decodes the multiplexed framing. Payload pieces point into the bytes given to feed() (no copy);
/// only a header split across reads is buffered (at most 7 bytes).
class MuxDecoder {
 public:
  /// Decodes `bytes`, calling `sink(const MuxPiece&)` for each payload piece in order. Returns
  /// false on a framing error (sticky: later calls return false at once). `sink` must not destroy
  /// the decoder.
  template <class Sink>
  bool feed(std::string_view bytes, Sink&& sink);

  MuxError error() const { return error_; }
  /// True when a frame header or payload is unfinished: EOF now means a truncated stream.
  bool partial() const { return header_len_ > 0 || remaining_ > 0; }

 private:
  bool take_header();

  char header_[8] = {};
  uint8_t header_len_ = 0;
  uint32_t remaining_ = 0;  // payload bytes still owed by the current frame
  MuxStream stream_ = MuxStream::stdout_data;
  MuxError error_ = MuxError::none;
};

template <class Sink>
bool MuxDecoder::feed(std::string_view bytes, Sink&& sink) {
  if (error_ != MuxError::none) return false;
  while (!bytes.empty()) {
    if (remaining_ == 0 && header_len_ < 8) {
      const size_t n = std::min<size_t>(8 - header_len_, bytes.size());
      for (size_t i = 0; i < n; ++i) header_[header_len_ + i] = bytes[i];
      header_len_ += static_cast<uint8_t>(n);
      bytes.remove_prefix(n);
      if (header_len_ < 8) return true;
      if (!take_header()) return false;
      if (remaining_ == 0) sink(MuxPiece{stream_, {}, true});
      continue;
    }
    const size_t n = std::min<size_t>(remaining_, bytes.size());
    remaining_ -= static_cast<uint32_t>(n);
    sink(MuxPiece{stream_, bytes.substr(0, n), remaining_ == 0});
    bytes.remove_prefix(n);
  }
  return true;
}

}  // namespace alk::docker

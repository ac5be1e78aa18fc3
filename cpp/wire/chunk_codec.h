// The raw carriage: chunks of [stream_type u8][length u32 BE][payload] in both directions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wire/byte_queue.h"
#include "wire/envelope.h"

namespace alk::wire {

/// Chunk stream types. 0 and 3 flow client → server, 1, 2 and 4 server → client.
enum class ChunkType : uint8_t {
  stdin_data = 0,
  stdout_data = 1,
  stderr_data = 2,
  control_in = 3,   ///< JSON: resize, signal, eof
  control_out = 4,  ///< JSON: exit
};

/// Largest chunk payload accepted or produced.
inline constexpr uint32_t kMaxChunkBytes = 16u << 20;
inline constexpr size_t kChunkHeaderBytes = 5;

struct Chunk {
  ChunkType type;
  std::string payload;
};

/// Writes the 5-byte header of a chunk of `length` bytes (at most kMaxChunkBytes) at `out`.
void put_chunk_header(char* out, ChunkType type, uint32_t length);

/// Appends one chunk to `out`. `payload` must be at most kMaxChunkBytes (callers split larger
/// writes with append_chunks).
void append_chunk(std::string& out, ChunkType type, std::string_view payload);

/// Appends `payload` as as many chunks as needed to respect kMaxChunkBytes (one empty chunk when
/// `payload` is empty).
void append_chunks(std::string& out, ChunkType type, std::string_view payload);

/// The same split without building the bytes: calls `on_piece(header, part)` for each chunk, the
/// 5-byte header a view valid during the call, `part` a view into `payload`.
template <typename OnPiece>
void split_chunks(ChunkType type, std::string_view payload, OnPiece&& on_piece) {
  do {
    const size_t n = std::min<size_t>(payload.size(), kMaxChunkBytes);
    char header[kChunkHeaderBytes];
    put_chunk_header(header, type, static_cast<uint32_t>(n));
    on_piece(std::string_view(header, kChunkHeaderBytes), payload.substr(0, n));
    payload.remove_prefix(n);
  } while (!payload.empty());
}

/// Sticky errors of the chunk decoder.
enum class ChunkError {
  none,
  unknown_type,  ///< a stream type above 4
  too_large,     ///< a length above kMaxChunkBytes
};

const char* describe(ChunkError e);

/// Splits a byte stream into chunks. Direction rules (which types a side may send) are the
/// caller's business; the decoder only rejects types that do not exist.
class ChunkDecoder {
 public:
  void push(std::string_view bytes);
  /// The next complete chunk, or nullopt when more bytes are needed or an error occurred.
  std::optional<Chunk> next();

  /// Decodes the buffered bytes, then `input`, calling `on_chunk(ChunkType, std::string_view
  /// payload)` for each complete chunk in order; the payload view is valid during the call only.
  /// Chunks whole in `input` are handed over in place, without a copy; only a chunk split across
  /// inputs (and everything after a stop) is buffered. `on_chunk` returns false to stop: the rest
  /// stays buffered for the next feed() (feed({}) resumes). Stops at the first error (error()).
  /// on_chunk must not call back into this decoder.
  template <typename OnChunk>
  void feed(std::string_view input, OnChunk&& on_chunk);
  ChunkError error() const { return error_; }
  /// True when bytes of an unfinished chunk are buffered.
  bool partial() const { return !buf_.empty(); }
  /// Number of bytes buffered and not yet returned.
  size_t buffered() const { return buf_.size(); }

 private:
  /// Bytes the chunk starting at `head` still lacks (0: it is complete); sets error_ on a bad
  /// type or length.
  size_t missing(std::string_view head);

  ByteQueue buf_;
  ChunkError error_ = ChunkError::none;
};

template <typename OnChunk>
void ChunkDecoder::feed(std::string_view input, OnChunk&& on_chunk) {
  // Buffered first: a paused consumer's chunks, or the start of a chunk split across inputs,
  // which takes from `input` exactly the bytes it lacks.
  while (error_ == ChunkError::none && !buf_.empty()) {
    const std::string_view head = buf_.view();
    const size_t lack = missing(head);
    if (error_ != ChunkError::none) return;
    if (lack > 0) {
      if (input.empty()) return;
      const size_t take = std::min(lack, input.size());
      buf_.append(input.substr(0, take));
      input.remove_prefix(take);
      continue;
    }
    const uint32_t len = get_u32_be(head.data() + 1);
    const bool go = on_chunk(static_cast<ChunkType>(head[0]), head.substr(kChunkHeaderBytes, len));
    buf_.consume(kChunkHeaderBytes + len);
    if (!go) {
      buf_.append(input);
      return;
    }
  }
  // Then straight from the input.
  while (error_ == ChunkError::none && !input.empty()) {
    const size_t lack = missing(input);
    if (error_ != ChunkError::none) return;
    if (lack > 0) {
      buf_.append(input);
      return;
    }
    const uint32_t len = get_u32_be(input.data() + 1);
    const bool go =
        on_chunk(static_cast<ChunkType>(input[0]), input.substr(kChunkHeaderBytes, len));
    input.remove_prefix(kChunkHeaderBytes + len);
    if (!go) {
      buf_.append(input);
      return;
    }
  }
}

}  // namespace alk::wire

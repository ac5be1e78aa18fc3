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
///
/// Two ways to use it: push() bytes and take whole chunks with next(), or feed() (views in place,
/// payloads streamed); push() may precede feed(), but next() must not follow a feed() that left a
/// streamed chunk unfinished.
class ChunkDecoder {
 public:
  void push(std::string_view bytes);
  /// The next complete chunk, or nullopt when more bytes are needed or an error occurred.
  std::optional<Chunk> next();

  /// Decodes the buffered bytes, then `input`, calling `on_chunk(ChunkType, std::string_view
  /// payload, bool last)` in order. The payload of a chunk whose type satisfies `streamed(type)`
  /// is handed over in pieces as its bytes arrive (never empty, `last` on the final one; a
  /// zero-length chunk is one empty piece); other chunks come whole (`last` always true). Views
  /// point into `input` where they can and are valid during the call only: only the start of a
  /// chunk split across inputs (a header, or a non-streamed chunk) is copied.
  ///
  /// `on_chunk` returns false to stop. Returns how many bytes of `input` were taken (handed over
  /// or buffered): after a stop the rest is the caller's, to feed again (from its first byte) to
  /// resume; feed({}) resumes what was buffered. After an error (error()) everything counts as
  /// taken and nothing more is decoded. on_chunk must not call back into this decoder.
  template <typename Streamed, typename OnChunk>
  size_t feed(std::string_view input, Streamed&& streamed, OnChunk&& on_chunk);
  ChunkError error() const { return error_; }
  /// True inside a chunk: bytes of its start are buffered, or a streamed payload is unfinished.
  bool partial() const { return !buf_.empty() || stream_left_ > 0; }
  /// Number of bytes buffered and not yet returned.
  size_t buffered() const { return buf_.size(); }

 private:
  /// Bytes the chunk starting at `head` still lacks (0: it is complete); sets error_ on a bad
  /// type or length.
  size_t missing(std::string_view head);
  /// Hands over what `avail` holds of whole chunks and streamed pieces; returns the bytes used.
  /// Leaves a chunk start it cannot finish; sets `stop` when on_chunk asked to stop.
  template <typename Streamed, typename OnChunk>
  size_t decode_from(std::string_view avail, Streamed& streamed, OnChunk& on_chunk, bool& stop);

  ByteQueue buf_;
  ChunkError error_ = ChunkError::none;
  uint32_t stream_left_ = 0;  // payload bytes of the streamed chunk in progress still to come
  ChunkType stream_type_ = ChunkType::stdin_data;
};

/// A `streamed` predicate for ChunkDecoder::feed: every chunk whole.
inline bool no_streamed_types(ChunkType /*type*/) {
  return false;
}

template <typename Streamed, typename OnChunk>
size_t ChunkDecoder::feed(std::string_view input, Streamed&& streamed, OnChunk&& on_chunk) {
  const size_t size = input.size();
  bool stop = false;
  // Buffered first: bytes pushed before, or the start of a chunk split across inputs, which
  // takes from `input` exactly the bytes it lacks.
  while (error_ == ChunkError::none && !buf_.empty()) {
    const size_t used = decode_from(buf_.view(), streamed, on_chunk, stop);
    if (error_ != ChunkError::none) return size;
    buf_.consume(used);
    if (stop) return size - input.size();
    if (buf_.empty()) break;
    const size_t lack = missing(buf_.view());
    if (error_ != ChunkError::none) return size;
    if (input.empty()) return size;
    const size_t take = std::min(lack, input.size());
    buf_.append(input.substr(0, take));
    input.remove_prefix(take);
  }
  // Then straight from the input; an unfinished chunk start is kept.
  if (error_ == ChunkError::none && !input.empty()) {
    input.remove_prefix(decode_from(input, streamed, on_chunk, stop));
    if (error_ != ChunkError::none) return size;
    if (!stop) {
      buf_.append(input);
      input = {};
    }
  }
  return error_ != ChunkError::none ? size : size - input.size();
}

template <typename Streamed, typename OnChunk>
size_t ChunkDecoder::decode_from(std::string_view avail, Streamed& streamed, OnChunk& on_chunk,
                                 bool& stop) {
  size_t pos = 0;
  while (error_ == ChunkError::none) {
    if (stream_left_ > 0) {
      if (pos == avail.size()) break;
      const size_t n = std::min<size_t>(stream_left_, avail.size() - pos);
      stream_left_ -= static_cast<uint32_t>(n);
      const std::string_view piece = avail.substr(pos, n);
      pos += n;
      if (!on_chunk(stream_type_, piece, stream_left_ == 0)) {
        stop = true;
        break;
      }
      continue;
    }
    const std::string_view rest = avail.substr(pos);
    if (rest.empty()) break;
    const size_t lack = missing(rest);
    if (error_ != ChunkError::none || rest.size() < kChunkHeaderBytes) break;
    const auto type = static_cast<ChunkType>(rest[0]);
    const uint32_t len = get_u32_be(rest.data() + 1);
    if (len > 0 && streamed(type)) {
      pos += kChunkHeaderBytes;
      stream_left_ = len;
      stream_type_ = type;
      continue;
    }
    if (lack > 0) break;
    pos += kChunkHeaderBytes + len;
    if (!on_chunk(type, rest.substr(kChunkHeaderBytes, len), true)) {
      stop = true;
      break;
    }
  }
  return pos;
}

}  // namespace alk::wire

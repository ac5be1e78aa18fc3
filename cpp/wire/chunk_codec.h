// The raw carriage: chunks of [stream_type u8][length u32 BE][payload] in both directions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wire/byte_queue.h"

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

/// Appends one chunk to `out`. `payload` must be at most kMaxChunkBytes (callers split larger
/// writes with append_chunks).
void append_chunk(std::string& out, ChunkType type, std::string_view payload);

/// Appends `payload` as as many chunks as needed to respect kMaxChunkBytes (one empty chunk when
/// `payload` is empty).
void append_chunks(std::string& out, ChunkType type, std::string_view payload);

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
  ChunkError error() const { return error_; }
  /// True when bytes of an unfinished chunk are buffered.
  bool partial() const { return !buf_.empty(); }
  /// Number of bytes buffered and not yet returned.
  size_t buffered() const { return buf_.size(); }

 private:
  ByteQueue buf_;
  ChunkError error_ = ChunkError::none;
};

}  // namespace alk::wire

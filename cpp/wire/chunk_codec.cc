#include "wire/chunk_codec.h"

#include <algorithm>

#include "wire/envelope.h"

namespace alk::wire {

void put_chunk_header(char* out, ChunkType type, uint32_t length) {
  out[0] = static_cast<char>(type);
  put_u32_be(out + 1, length);
}

void append_chunk(std::string& out, ChunkType type, std::string_view payload) {
  char header[kChunkHeaderBytes];
  put_chunk_header(header, type, static_cast<uint32_t>(payload.size()));
  out.append(header, kChunkHeaderBytes);
  out.append(payload);
}

void append_chunks(std::string& out, ChunkType type, std::string_view payload) {
  split_chunks(type, payload, [&](std::string_view header, std::string_view part) {
    out.append(header).append(part);
  });
}

const char* describe(ChunkError e) {
  switch (e) {
    case ChunkError::none:
      return "no error";
    case ChunkError::unknown_type:
      return "unknown chunk stream type";
    case ChunkError::too_large:
      return "chunk length exceeds 16 MiB";
  }
  return "unknown chunk error";
}

void ChunkDecoder::push(std::string_view bytes) {
  if (error_ == ChunkError::none) buf_.append(bytes);
}

size_t ChunkDecoder::missing(std::string_view head) {
  const auto type = static_cast<uint8_t>(head[0]);
  // The type is checked as soon as its byte arrives, so garbage is rejected without waiting.
  if (type > static_cast<uint8_t>(ChunkType::control_out)) {
    error_ = ChunkError::unknown_type;
    buf_.clear();
    return 0;
  }
  if (head.size() < kChunkHeaderBytes) return kChunkHeaderBytes - head.size();
  const uint32_t len = get_u32_be(head.data() + 1);
  if (len > kMaxChunkBytes) {
    error_ = ChunkError::too_large;
    buf_.clear();
    return 0;
  }
  const size_t have = head.size() - kChunkHeaderBytes;
  return have < len ? len - have : 0;
}

std::optional<Chunk> ChunkDecoder::next() {
  if (error_ != ChunkError::none || stream_left_ > 0) return std::nullopt;
  const std::string_view pending = buf_.view();
  if (pending.empty() || missing(pending) > 0 || error_ != ChunkError::none) return std::nullopt;
  const uint32_t len = get_u32_be(pending.data() + 1);
  Chunk c{static_cast<ChunkType>(pending[0]), std::string(pending.substr(kChunkHeaderBytes, len))};
  buf_.consume(kChunkHeaderBytes + len);
  return c;
}

}  // namespace alk::wire

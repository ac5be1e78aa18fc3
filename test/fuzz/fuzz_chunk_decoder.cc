// Fuzzes the raw-carriage chunk decoder: any split decodes like one push, feed() (in place, whole
// or streamed, with a consumer that stops and resumes) decodes like push/next, the chunks re-encode
// to exactly the bytes consumed, errors name the offending header and are sticky.
#include <optional>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "wire/chunk_codec.h"
#include "wire/envelope.h"

namespace {

using alk::wire::Chunk;
using alk::wire::ChunkDecoder;
using alk::wire::ChunkError;

struct Outcome {
  std::vector<Chunk> chunks;
  ChunkError error = ChunkError::none;
  bool partial = false;
  size_t buffered = 0;
};

Outcome decode(const std::vector<std::string>& pieces) {
  ChunkDecoder d;
  Outcome o;
  for (const std::string& p : pieces) {
    d.push(p);
    while (auto c = d.next()) {
      FUZZ_CHECK(static_cast<uint8_t>(c->type) <= 4);
      FUZZ_CHECK(c->payload.size() <= alk::wire::kMaxChunkBytes);
      o.chunks.push_back(std::move(*c));
    }
  }
  o.error = d.error();
  o.partial = d.partial();
  o.buffered = d.buffered();
  FUZZ_CHECK(o.partial == (o.buffered > 0));
  if (o.error != ChunkError::none) {
    FUZZ_CHECK(!o.partial);
    d.push(std::string("\x01\x00\x00\x00\x00", 5));
    FUZZ_CHECK(!d.next().has_value());
    FUZZ_CHECK(d.error() == o.error && d.buffered() == 0);
  }
  return o;
}

// The same through feed(), the data types' payloads streamed in pieces (joined here) when
// `stream_data`, the consumer stopping after every `stop_every`-th piece (0: never) and being fed
// the rest again.
Outcome decode_fed(const std::vector<std::string>& pieces, unsigned stop_every, bool stream_data) {
  ChunkDecoder d;
  Outcome o;
  unsigned seen = 0;
  bool open = false;
  auto streamed = [&](alk::wire::ChunkType type) {
    return stream_data && static_cast<uint8_t>(type) <= 2;
  };
  auto on_chunk = [&](alk::wire::ChunkType type, std::string_view payload, bool last) {
    if (open) {
      FUZZ_CHECK(o.chunks.back().type == type && !payload.empty());
    } else {
      o.chunks.push_back({type, {}});
    }
    o.chunks.back().payload.append(payload);
    open = !last;
    ++seen;
    return stop_every == 0 || seen % stop_every != 0;
  };
  for (const std::string& piece : pieces) {
    std::string_view p = piece;
    for (;;) {
      const unsigned before = seen;
      const size_t took = d.feed(p, streamed, on_chunk);
      FUZZ_CHECK(took <= p.size());
      p.remove_prefix(took);
      if (p.empty() && seen == before) break;
    }
  }
  FUZZ_CHECK(d.partial() || (!open && d.buffered() == 0));
  if (open) o.chunks.pop_back();  // pieces of an unfinished chunk: whole decoding has none
  o.error = d.error();
  o.partial = d.partial();
  o.buffered = stream_data ? 0 : d.buffered();
  return o;
}

void check_same(const Outcome& a, const Outcome& b) {
  FUZZ_CHECK(a.error == b.error);
  FUZZ_CHECK(a.partial == b.partial);
  FUZZ_CHECK(a.buffered == b.buffered);
  FUZZ_CHECK(a.chunks.size() == b.chunks.size());
  for (size_t i = 0; i < a.chunks.size(); ++i) {
    FUZZ_CHECK(a.chunks[i].type == b.chunks[i].type);
    FUZZ_CHECK(a.chunks[i].payload == b.chunks[i].payload);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > alk::fuzz::kMaxInputBytes) return 0;
  FuzzedDataProvider fdp(data, size);
  const int times = fdp.ConsumeIntegralInRange<int>(1, 8);
  const std::vector<std::string> pieces = alk::fuzz::repeat(alk::fuzz::consume_pieces(fdp), times);
  const std::string stream = alk::fuzz::join(pieces);

  const Outcome split = decode(pieces);
  const Outcome whole = decode({stream});
  const unsigned stop_every = fdp.ConsumeIntegralInRange<unsigned>(0, 3);
  check_same(decode_fed(pieces, stop_every, false), whole);
  Outcome streamed_whole = whole;
  streamed_whole.buffered = 0;  // streamed payloads are handed over, not buffered
  check_same(decode_fed(pieces, stop_every, true), streamed_whole);
  FUZZ_CHECK(split.error == whole.error);
  FUZZ_CHECK(split.partial == whole.partial);
  FUZZ_CHECK(split.buffered == whole.buffered);
  FUZZ_CHECK(split.chunks.size() == whole.chunks.size());

  std::string reencoded;
  for (size_t i = 0; i < whole.chunks.size(); ++i) {
    FUZZ_CHECK(split.chunks[i].type == whole.chunks[i].type);
    FUZZ_CHECK(split.chunks[i].payload == whole.chunks[i].payload);
    alk::wire::append_chunk(reencoded, whole.chunks[i].type, whole.chunks[i].payload);
  }
  // The chunks are exactly the bytes consumed; what follows is buffered or caused the error.
  FUZZ_CHECK(stream.compare(0, reencoded.size(), reencoded) == 0);
  const std::string_view rest = std::string_view(stream).substr(reencoded.size());
  switch (whole.error) {
    case ChunkError::none:
      FUZZ_CHECK(rest.size() == whole.buffered);
      break;
    case ChunkError::unknown_type:
      FUZZ_CHECK(static_cast<uint8_t>(rest[0]) > 4);
      break;
    case ChunkError::too_large:
      FUZZ_CHECK(rest.size() >= alk::wire::kChunkHeaderBytes);
      FUZZ_CHECK(static_cast<uint8_t>(rest[0]) <= 4);
      FUZZ_CHECK(alk::wire::get_u32_be(rest.data() + 1) > alk::wire::kMaxChunkBytes);
      break;
  }
  return 0;
}

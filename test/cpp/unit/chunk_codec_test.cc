// Raw-carriage chunks ([type u8][length u32 BE][payload]): the protocol's byte vectors, every byte
// split, the type and 16 MiB checks, and splitting of large writes.
#include "wire/chunk_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "wire/envelope.h"
#include "wire_test_helpers.h"

namespace alk::wire {
namespace {

using test::all_splits;
using test::call_vectors;
using test::from_hex;
using test::to_hex;

struct ChunkVector {
  const char* name;
  ChunkType type;
  std::string payload;
  const char* hex;
};

// alknet-protocol.md §7 item 14, the tty chunk table.
const std::vector<ChunkVector>& protocol_table() {
  static const std::vector<ChunkVector> table = {
      {"stdin text", ChunkType::stdin_data, "echo hello-from-attach\n",
       "00000000176563686f2068656c6c6f2d66726f6d2d6174746163680a"},
      {"stdin EOF", ChunkType::stdin_data, "", "0000000000"},
      {"stdout drained", ChunkType::stdout_data, "", "0100000000"},
      {"eof control", ChunkType::control_in, R"({"type":"eof"})",
       "030000000e7b2274797065223a22656f66227d"},
      {"exit 0, stream 4", ChunkType::control_out, R"({"type":"exit","code":0})",
       "04000000187b2274797065223a2265786974222c22636f6465223a307d"},
      {"exit 0, pre-Phase-7 stream 3", ChunkType::control_in, R"({"type":"exit","code":0})",
       "03000000187b2274797065223a2265786974222c22636f6465223a307d"},
  };
  return table;
}

// The "chunks" section of the shared vector file.
std::vector<ChunkVector> file_chunks() {
  std::vector<ChunkVector> out;
  for (const auto& v : call_vectors().at("chunks")) {
    const std::string payload = v.contains("payload_hex")
                                    ? from_hex(v.at("payload_hex").get<std::string>())
                                    : v.at("payload_utf8").get<std::string>();
    out.push_back({v.at("name").get_ref<const std::string&>().c_str(),
                   static_cast<ChunkType>(v.at("stream_type").get<int>()), payload,
                   v.at("hex").get_ref<const std::string&>().c_str()});
  }
  return out;
}

std::string header(uint8_t type, uint32_t len) {
  std::string h(kChunkHeaderBytes, '\0');
  h[0] = static_cast<char>(type);
  put_u32_be(h.data() + 1, len);
  return h;
}

struct Outcome {
  std::vector<Chunk> chunks;
  ChunkError error = ChunkError::none;
  bool partial = false;
  size_t buffered = 0;
};

Outcome decode(const std::vector<std::string_view>& pieces) {
  ChunkDecoder d;
  Outcome o;
  for (std::string_view p : pieces) {
    d.push(p);
    while (auto c = d.next()) o.chunks.push_back(std::move(*c));
  }
  o.error = d.error();
  o.partial = d.partial();
  o.buffered = d.buffered();
  return o;
}

void expect_chunks(const std::vector<Chunk>& got, const std::vector<Chunk>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].type, want[i].type) << "chunk " << i;
    EXPECT_TRUE(got[i].payload == want[i].payload) << "chunk " << i << " payload differs";
  }
}

void expect_same_outcome(const Outcome& got, const Outcome& want, const std::string& label) {
  SCOPED_TRACE(label);
  EXPECT_EQ(got.error, want.error) << describe(got.error) << " vs " << describe(want.error);
  EXPECT_EQ(got.partial, want.partial);
  EXPECT_EQ(got.buffered, want.buffered);
  expect_chunks(got.chunks, want.chunks);
}

// The same through feed(): payloads in place, the data types' payloads in pieces (joined here)
// when `stream_data`, and a consumer that stops after every `stop_every`-th piece (0: never) and
// is fed the rest again, as a transport does once reading resumes.
Outcome decode_fed(const std::vector<std::string_view>& pieces, unsigned stop_every,
                   bool stream_data = false) {
  ChunkDecoder d;
  Outcome o;
  unsigned seen = 0;
  bool open = false;  // the last chunk's pieces are still coming
  auto streamed = [&](ChunkType type) {
    return stream_data && type != ChunkType::control_in && type != ChunkType::control_out;
  };
  auto on_chunk = [&](ChunkType type, std::string_view payload, bool last) {
    if (open) {
      EXPECT_EQ(o.chunks.back().type, type);
      EXPECT_FALSE(payload.empty()) << "a piece of a streamed payload is never empty";
    } else {
      o.chunks.push_back({type, {}});
    }
    o.chunks.back().payload.append(payload);
    open = !last;
    ++seen;
    return stop_every == 0 || seen % stop_every != 0;
  };
  for (std::string_view p : pieces) {
    // A stop hands the rest back; feeding it (or nothing, to resume what is buffered) goes on.
    for (;;) {
      const unsigned before = seen;
      p.remove_prefix(d.feed(p, streamed, on_chunk));
      if (p.empty() && seen == before) break;
    }
  }
  if (open || d.buffered() > 0) EXPECT_TRUE(d.partial());
  if (open) o.chunks.pop_back();  // pieces of an unfinished chunk: whole decoding has none
  o.error = d.error();
  o.partial = d.partial();
  o.buffered = stream_data ? SIZE_MAX : d.buffered();
  return o;
}

// Streamed payloads keep less buffered than whole chunks: everything else must match.
void expect_same_streamed(const Outcome& got, Outcome want, const std::string& label) {
  want.buffered = SIZE_MAX;
  expect_same_outcome(got, want, label);
}

void expect_outcome_at_every_split(std::string_view bytes, const Outcome& want) {
  for (const auto& split : all_splits(bytes)) {
    expect_same_outcome(decode(split.pieces), want, split.label);
    expect_same_outcome(decode_fed(split.pieces, 0), want, split.label + " (feed)");
    expect_same_outcome(decode_fed(split.pieces, 1), want, split.label + " (feed, stop each)");
    expect_same_outcome(decode_fed(split.pieces, 2), want, split.label + " (feed, stop 2nd)");
    expect_same_streamed(decode_fed(split.pieces, 0, true), want, split.label + " (streamed)");
    expect_same_streamed(decode_fed(split.pieces, 1, true), want,
                         split.label + " (streamed, stop each)");
  }
}

Outcome error_outcome(ChunkError e) {
  return Outcome{{}, e, false, 0};
}

Outcome chunks_outcome(std::vector<Chunk> chunks) {
  return Outcome{std::move(chunks), ChunkError::none, false, 0};
}

void check_vectors(const std::vector<ChunkVector>& vectors) {
  std::string stream;
  std::vector<Chunk> all;
  for (const ChunkVector& v : vectors) {
    SCOPED_TRACE(v.name);
    std::string encoded;
    append_chunk(encoded, v.type, v.payload);
    EXPECT_EQ(to_hex(encoded), v.hex);
    const std::string bytes = from_hex(v.hex);
    expect_outcome_at_every_split(bytes, chunks_outcome({{v.type, v.payload}}));
    stream += bytes;
    all.push_back({v.type, v.payload});
  }
  expect_outcome_at_every_split(stream, chunks_outcome(all));
}

TEST(ChunkVectors, ProtocolTable) {
  check_vectors(protocol_table());
}

TEST(ChunkVectors, SharedVectorFile) {
  const std::vector<ChunkVector> vectors = file_chunks();
  ASSERT_FALSE(vectors.empty());
  check_vectors(vectors);
}

TEST(ChunkVectors, SharedVectorFileRejects) {
  for (const auto& v : call_vectors().at("chunk_reject")) {
    const std::string expect = v.at("expect").get<std::string>();
    SCOPED_TRACE(v.at("name").get<std::string>() + ": " + expect);
    ChunkError want = ChunkError::none;
    if (expect.starts_with("protocol error (stream type")) want = ChunkError::unknown_type;
    if (expect.starts_with("protocol error (length")) want = ChunkError::too_large;
    ASSERT_NE(want, ChunkError::none) << "unknown expectation in the vector file";
    expect_outcome_at_every_split(from_hex(v.at("hex").get<std::string>()), error_outcome(want));
  }
}

TEST(ChunkDecoder, TruncationsArePartial) {
  std::string stream;
  for (const ChunkVector& v : protocol_table()) stream += from_hex(v.hex);
  const std::string first = from_hex(protocol_table()[0].hex);
  for (size_t k = 1; k < first.size(); ++k) {
    SCOPED_TRACE(k);
    const Outcome o = decode({std::string_view(first).substr(0, k)});
    EXPECT_EQ(o.error, ChunkError::none);
    EXPECT_TRUE(o.chunks.empty());
    EXPECT_TRUE(o.partial);
    EXPECT_EQ(o.buffered, k);
  }
  // Cut anywhere in a stream, exactly the chunks wholly before the cut come out.
  for (size_t k = 0; k <= stream.size(); ++k) {
    const Outcome o = decode({std::string_view(stream).substr(0, k)});
    size_t whole = 0, used = 0;
    for (const ChunkVector& v : protocol_table()) {
      const size_t n = from_hex(v.hex).size();
      if (used + n > k) break;
      used += n;
      ++whole;
    }
    EXPECT_EQ(o.chunks.size(), whole) << k;
    EXPECT_EQ(o.buffered, k - used) << k;
    EXPECT_EQ(o.partial, k != used) << k;
  }
  ChunkDecoder empty;
  EXPECT_FALSE(empty.next().has_value());
  EXPECT_FALSE(empty.partial());
}

TEST(ChunkDecoder, UnknownTypeIsRejectedOnItsFirstByte) {
  for (int type : {5, 6, 9, 0x7f, 0x80, 0xfe, 0xff}) {
    SCOPED_TRACE(type);
    ChunkDecoder d;
    d.push(std::string(1, static_cast<char>(type)));
    EXPECT_FALSE(d.next().has_value());
    EXPECT_EQ(d.error(), ChunkError::unknown_type);
    EXPECT_FALSE(d.partial());
    EXPECT_EQ(d.buffered(), 0u);
    // With a whole, otherwise valid header it is the same verdict at every split.
    expect_outcome_at_every_split(header(static_cast<uint8_t>(type), 1) + "x",
                                  error_outcome(ChunkError::unknown_type));
  }
  // After a valid chunk, too.
  ChunkDecoder d;
  d.push(from_hex("0100000000") + "\xff");
  ASSERT_TRUE(d.next().has_value());
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.error(), ChunkError::unknown_type);

  // Types 0..4 alone are just an unfinished header.
  for (uint8_t type = 0; type <= 4; ++type) {
    const Outcome o = decode({std::string(1, static_cast<char>(type))});
    EXPECT_EQ(o.error, ChunkError::none) << int{type};
    EXPECT_TRUE(o.partial) << int{type};
  }
}

TEST(ChunkDecoder, SixteenMiBLimit) {
  // A 16 MiB header is accepted and the decoder waits for the payload.
  const std::string max_header = header(1, kMaxChunkBytes);
  EXPECT_EQ(to_hex(max_header), "0101000000");
  expect_outcome_at_every_split(max_header, Outcome{{}, ChunkError::none, true, 5});
  expect_outcome_at_every_split(header(1, kMaxChunkBytes + 1),
                                error_outcome(ChunkError::too_large));
  expect_outcome_at_every_split(header(0, 0xFFFFFFFF), error_outcome(ChunkError::too_large));

  // A whole 16 MiB chunk decodes, fed in pieces of 1 MiB + 3.
  const std::string payload(kMaxChunkBytes, 'z');
  std::string bytes;
  append_chunk(bytes, ChunkType::stdout_data, payload);
  ASSERT_EQ(bytes.size(), kChunkHeaderBytes + kMaxChunkBytes);
  const Outcome o = decode(test::fixed_pieces(bytes, (1u << 20) + 3));
  EXPECT_EQ(o.error, ChunkError::none);
  EXPECT_FALSE(o.partial);
  expect_chunks(o.chunks, {{ChunkType::stdout_data, payload}});
}

TEST(ChunkCodec, AppendChunksSplitsLargePayloads) {
  struct Case {
    size_t size;
    std::vector<size_t> chunk_sizes;
  };
  const size_t m = kMaxChunkBytes;
  const std::vector<Case> cases = {
      {0, {0}}, {1, {1}}, {m, {m}}, {m + 1, {m, 1}}, {2 * m, {m, m}}, {2 * m + 5, {m, m, 5}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.size);
    std::string payload(c.size, '\0');
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + (i >> 20));
    std::string out = "pre";
    append_chunks(out, ChunkType::stderr_data, payload);
    ASSERT_EQ(out.substr(0, 3), "pre");
    const Outcome o = decode({std::string_view(out).substr(3)});
    ASSERT_EQ(o.error, ChunkError::none);
    EXPECT_FALSE(o.partial);
    ASSERT_EQ(o.chunks.size(), c.chunk_sizes.size());
    std::string joined;
    for (size_t i = 0; i < o.chunks.size(); ++i) {
      EXPECT_EQ(o.chunks[i].type, ChunkType::stderr_data);
      EXPECT_EQ(o.chunks[i].payload.size(), c.chunk_sizes[i]);
      joined += o.chunks[i].payload;
    }
    EXPECT_TRUE(joined == payload);
    EXPECT_EQ(out.size(), 3 + payload.size() + kChunkHeaderBytes * c.chunk_sizes.size());
  }
}

TEST(ChunkCodec, ZeroLengthChunksOfEveryType) {
  std::string stream;
  std::vector<Chunk> want;
  for (int round = 0; round < 3; ++round) {
    for (uint8_t type = 0; type <= 4; ++type) {
      append_chunk(stream, static_cast<ChunkType>(type), "");
      want.push_back({static_cast<ChunkType>(type), ""});
    }
  }
  EXPECT_EQ(stream.size(), want.size() * kChunkHeaderBytes);
  expect_outcome_at_every_split(stream, chunks_outcome(want));
}

TEST(ChunkCodec, BinaryPayloadRoundTrip) {
  std::string payload;
  for (int c = 0; c < 256; ++c) payload += static_cast<char>(c);
  std::string stream;
  append_chunk(stream, ChunkType::stdin_data, payload);
  append_chunk(stream, ChunkType::stdout_data, payload.substr(200));
  append_chunks(stream, ChunkType::control_out, R"({"code":7,"type":"exit"})");
  expect_outcome_at_every_split(
      stream, chunks_outcome({{ChunkType::stdin_data, payload},
                              {ChunkType::stdout_data, payload.substr(200)},
                              {ChunkType::control_out, R"({"code":7,"type":"exit"})"}}));
}

TEST(ChunkDecoder, LongStreamsAcrossBufferCompaction) {
  std::string stream;
  std::vector<Chunk> want;
  for (int i = 0; i < 3000; ++i) {
    const auto type = static_cast<ChunkType>(i % 5);
    want.push_back({type, std::string(static_cast<size_t>(i % 397), static_cast<char>(i))});
    append_chunk(stream, type, want.back().payload);
  }
  stream += std::string("\x02\x00", 2);  // an unfinished header
  for (size_t piece : {size_t{1}, size_t{4099}, stream.size()}) {
    expect_same_outcome(decode(test::fixed_pieces(stream, piece)),
                        Outcome{want, ChunkError::none, true, 2},
                        "pieces of " + std::to_string(piece));
    for (unsigned stop : {0u, 1u, 7u}) {
      expect_same_outcome(
          decode_fed(test::fixed_pieces(stream, piece), stop),
          Outcome{want, ChunkError::none, true, 2},
          "fed pieces of " + std::to_string(piece) + ", stop " + std::to_string(stop));
      expect_same_streamed(
          decode_fed(test::fixed_pieces(stream, piece), stop, true),
          Outcome{want, ChunkError::none, true, 2},
          "streamed pieces of " + std::to_string(piece) + ", stop " + std::to_string(stop));
    }
  }
}

TEST(ChunkDecoder, FeedHandsWholeChunksOverInPlace) {
  std::string stream;
  append_chunk(stream, ChunkType::stdout_data, "first");
  append_chunk(stream, ChunkType::stderr_data, "second");
  stream += header(1, 4) + "pa";  // the start of a third, split
  ChunkDecoder d;
  std::vector<const char*> where;
  EXPECT_EQ(d.feed(stream, no_streamed_types,
                   [&](ChunkType, std::string_view payload, bool last) {
                     EXPECT_TRUE(last);
                     where.push_back(payload.data());
                     return true;
                   }),
            stream.size());
  ASSERT_EQ(where.size(), 2u);
  EXPECT_EQ(where[0], stream.data() + kChunkHeaderBytes);
  EXPECT_EQ(where[1], stream.data() + 2 * kChunkHeaderBytes + 5);
  EXPECT_EQ(d.buffered(), kChunkHeaderBytes + 2);  // only the split chunk was copied
  std::string third;
  d.feed("rt", no_streamed_types, [&](ChunkType type, std::string_view payload, bool) {
    EXPECT_EQ(type, ChunkType::stdout_data);
    third = payload;
    return true;
  });
  EXPECT_EQ(third, "part");
  EXPECT_FALSE(d.partial());
}

TEST(ChunkDecoder, FeedStreamsPayloadPiecesInPlace) {
  const auto data_only = [](ChunkType t) { return t == ChunkType::stdin_data; };
  struct Piece {
    ChunkType type;
    const char* at;
    size_t size;
    bool last;
  };
  std::vector<Piece> got;
  bool stop_next = false;
  auto on_chunk = [&](ChunkType type, std::string_view payload, bool last) {
    got.push_back({type, payload.data(), payload.size(), last});
    return !std::exchange(stop_next, false);
  };
  ChunkDecoder d;
  // A 10-byte stdin chunk over three inputs: each piece is a view into its own input, and only
  // the 3 header bytes of the first input were ever buffered.
  const std::string a = header(0, 10).substr(0, 3);
  const std::string b = header(0, 10).substr(3) + "abcd";
  const std::string c = "efghij" + header(3, 2) + "{";
  EXPECT_EQ(d.feed(a, data_only, on_chunk), a.size());
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(d.buffered(), 3u);
  EXPECT_EQ(d.feed(b, data_only, on_chunk), b.size());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at, b.data() + 2);
  EXPECT_EQ(got[0].size, 4u);
  EXPECT_FALSE(got[0].last);
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_TRUE(d.partial());
  // The control chunk is not streamed: its start is buffered until it is whole.
  EXPECT_EQ(d.feed(c, data_only, on_chunk), c.size());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].at, c.data());
  EXPECT_EQ(got[1].size, 6u);
  EXPECT_TRUE(got[1].last);
  EXPECT_EQ(d.buffered(), kChunkHeaderBytes + 1);
  EXPECT_EQ(d.feed("}", data_only, on_chunk), 1u);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].type, ChunkType::control_in);
  EXPECT_EQ(std::string_view(got[2].at, got[2].size), "{}");
  EXPECT_FALSE(d.partial());

  // A stop after a piece hands back the rest of the input, untouched and not copied.
  const std::string e = header(0, 3) + "xyz" + header(0, 0) + header(0, 1) + "q";
  stop_next = true;
  const size_t took = d.feed(e, data_only, on_chunk);
  EXPECT_EQ(took, kChunkHeaderBytes + 3);
  EXPECT_EQ(d.buffered(), 0u);
  const std::string_view rest = std::string_view(e).substr(took);
  EXPECT_EQ(d.feed(rest, data_only, on_chunk), rest.size());
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[4].size, 0u);  // a zero-length chunk: one empty piece
  EXPECT_TRUE(got[4].last);
  EXPECT_EQ(got[5].at, rest.data() + 2 * kChunkHeaderBytes);
  EXPECT_FALSE(d.partial());
}

TEST(ChunkDecoder, ErrorsAreSticky) {
  const std::string good = from_hex("02000000046572720a");
  for (const std::string& bad : {std::string("\x05"), header(2, kMaxChunkBytes + 1)}) {
    ChunkDecoder d;
    d.push(good + bad + good);
    EXPECT_TRUE(d.next().has_value());
    EXPECT_FALSE(d.next().has_value());
    const ChunkError e = d.error();
    ASSERT_NE(e, ChunkError::none);
    d.push(good);
    EXPECT_FALSE(d.next().has_value());
    EXPECT_EQ(d.error(), e);
    EXPECT_FALSE(d.partial());
    EXPECT_EQ(d.buffered(), 0u);
  }
  EXPECT_STRNE(describe(ChunkError::unknown_type), describe(ChunkError::too_large));
  EXPECT_STRNE(describe(ChunkError::none), describe(ChunkError::too_large));
}

}  // namespace
}  // namespace alk::wire

// Docker's multiplexed stream framing: frames at every byte split, per-stream reassembly,
// frame_end marking, header validation, sticky errors and truncation.
#include "docker/mux_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "wire/envelope.h"
#include "wire_test_helpers.h"

namespace alk::docker {
namespace {

using test::all_splits;
using test::to_hex;

struct Frame {
  MuxStream stream;
  std::string data;
};

// One frame as dockerd writes it; `type` is raw so tests can write invalid ones.
std::string mux_frame(uint8_t type, std::string_view payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(type);
  wire::put_u32_be(h.data() + 4, static_cast<uint32_t>(payload.size()));
  return h + std::string(payload);
}

std::string mux_frame(MuxStream s, std::string_view payload) {
  return mux_frame(static_cast<uint8_t>(s), payload);
}

// What a sequence of feeds produced, with the decoder's documented invariants checked per piece.
struct Outcome {
  std::vector<Frame> frames;          // whole frames, reassembled from their pieces
  std::string open;                   // payload of an unfinished frame
  std::array<std::string, 4> stream;  // every payload byte, per stream id
  bool ok = true;                     // every feed() returned true
  MuxError error = MuxError::none;
  bool partial = false;
  size_t pieces = 0;
};

Outcome feed_all(const std::vector<std::string_view>& input) {
  MuxDecoder d;
  Outcome o;
  std::optional<MuxStream> current;
  for (std::string_view bytes : input) {
    const bool ok = d.feed(bytes, [&](const MuxPiece& piece) {
      ++o.pieces;
      if (current) {
        EXPECT_EQ(piece.stream, *current) << "stream changed inside a frame";
      }
      EXPECT_TRUE(piece.frame_end || !piece.data.empty()) << "empty piece that ends nothing";
      if (!piece.data.empty()) {  // zero-copy: the piece lies inside the bytes being fed
        EXPECT_GE(piece.data.data(), bytes.data());
        EXPECT_LE(piece.data.data() + piece.data.size(), bytes.data() + bytes.size());
      }
      o.open += piece.data;
      o.stream[static_cast<size_t>(piece.stream)] += piece.data;
      current = piece.stream;
      if (piece.frame_end) {
        o.frames.push_back({piece.stream, std::move(o.open)});
        o.open.clear();
        current.reset();
      }
    });
    if (!o.ok) {
      EXPECT_FALSE(ok) << "feed() succeeded after an error";
    }
    EXPECT_EQ(ok, d.error() == MuxError::none);
    o.ok = o.ok && ok;
  }
  o.error = d.error();
  o.partial = d.partial();
  return o;
}

void expect_outcome(const Outcome& got, const std::vector<Frame>& frames, MuxError error,
                    bool partial, const std::string& label) {
  SCOPED_TRACE(label);
  EXPECT_EQ(got.error, error) << describe(got.error);
  EXPECT_EQ(got.ok, error == MuxError::none);
  EXPECT_EQ(got.partial, partial);
  ASSERT_EQ(got.frames.size(), frames.size());
  std::array<std::string, 4> per_stream;
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(got.frames[i].stream, frames[i].stream) << "frame " << i;
    EXPECT_EQ(to_hex(got.frames[i].data), to_hex(frames[i].data)) << "frame " << i;
    per_stream[static_cast<size_t>(frames[i].stream)] += frames[i].data;
  }
  if (!partial) {
    EXPECT_TRUE(got.open.empty());
    EXPECT_EQ(got.stream, per_stream);
  }
}

void expect_at_every_split(std::string_view bytes, const std::vector<Frame>& frames,
                           MuxError error = MuxError::none, bool partial = false) {
  for (const auto& split : all_splits(bytes)) {
    expect_outcome(feed_all(split.pieces), frames, error, partial, split.label);
  }
}

std::string encode(const std::vector<Frame>& frames) {
  std::string out;
  for (const Frame& f : frames) out += mux_frame(f.stream, f.data);
  return out;
}

const std::vector<Frame>& sample_frames() {
  static const std::vector<Frame> frames = {
      {MuxStream::stdout_data, "hello\n"},
      {MuxStream::stderr_data, "oops: something failed\n"},
      {MuxStream::stdout_data, ""},
      {MuxStream::stdout_data, std::string("bin\0\xff\x01", 6)},
      {MuxStream::stderr_data, "x"},
      {MuxStream::stdin_data, "in"},
      {MuxStream::system_err, "daemon error"},
      {MuxStream::stdout_data, "world\n"},
  };
  return frames;
}

TEST(MuxDecoder, FramesAtEverySplit) {
  const std::string bytes = encode(sample_frames());
  expect_at_every_split(bytes, sample_frames());
  const Outcome whole = feed_all({bytes});
  EXPECT_EQ(whole.stream[1], std::string("hello\nbin\0\xff\x01world\n", 18));
  EXPECT_EQ(whole.stream[2], "oops: something failed\nx");
  // In one feed every frame is one piece (the empty one included).
  EXPECT_EQ(whole.pieces, sample_frames().size());
}

TEST(MuxDecoder, EmptyFrameIsOneEmptyFinalPiece) {
  const std::string bytes = mux_frame(MuxStream::stderr_data, "");
  EXPECT_EQ(to_hex(bytes), "0200000000000000");
  expect_at_every_split(bytes, {{MuxStream::stderr_data, ""}});
  const Outcome o = feed_all(test::fixed_pieces(bytes, 1));
  EXPECT_EQ(o.pieces, 1u);
  // Several empty frames in a row.
  expect_at_every_split(
      bytes + bytes + bytes,
      {{MuxStream::stderr_data, ""}, {MuxStream::stderr_data, ""}, {MuxStream::stderr_data, ""}});
}

TEST(MuxDecoder, FrameEndOnlyOnTheLastPiece) {
  const std::string bytes = mux_frame(MuxStream::stdout_data, "abcdef");
  MuxDecoder d;
  std::vector<std::pair<std::string, bool>> got;
  auto sink = [&](const MuxPiece& p) { got.emplace_back(std::string(p.data), p.frame_end); };
  ASSERT_TRUE(d.feed(std::string_view(bytes).substr(0, 8), sink));  // header only: nothing yet
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(d.partial());
  ASSERT_TRUE(d.feed(std::string_view(bytes).substr(8, 2), sink));
  ASSERT_TRUE(d.feed(std::string_view(bytes).substr(10, 3), sink));
  ASSERT_TRUE(d.feed(std::string_view(bytes).substr(13), sink));
  const std::vector<std::pair<std::string, bool>> want = {
      {"ab", false}, {"cde", false}, {"f", true}};
  EXPECT_EQ(got, want);
  EXPECT_FALSE(d.partial());
  EXPECT_TRUE(d.feed("", sink));
  EXPECT_EQ(got.size(), 3u);
}

TEST(MuxDecoder, NonZeroHeaderPaddingIsBadHeader) {
  const std::string good = mux_frame(MuxStream::stdout_data, "ok");
  for (size_t pos = 1; pos <= 3; ++pos) {
    for (uint8_t value : {0x01, 0x80, 0xff}) {
      std::string bad = mux_frame(MuxStream::stdout_data, "payload");
      bad[pos] = static_cast<char>(value);
      const std::string label = "byte " + std::to_string(pos) + " = " + std::to_string(value);
      SCOPED_TRACE(label);
      expect_at_every_split(bad, {}, MuxError::bad_header);
      // Frames before the bad header are still delivered.
      expect_at_every_split(good + bad + good, {{MuxStream::stdout_data, "ok"}},
                            MuxError::bad_header);
    }
  }
}

TEST(MuxDecoder, UnknownStreamTypeIsRejected) {
  for (int type = 4; type <= 255; ++type) {
    SCOPED_TRACE(type);
    const std::string bad = mux_frame(static_cast<uint8_t>(type), "abc");
    expect_outcome(feed_all({bad}), {}, MuxError::bad_stream_type, false, "whole");
    expect_outcome(feed_all(test::fixed_pieces(bad, 1)), {}, MuxError::bad_stream_type, false,
                   "byte by byte");
  }
  expect_at_every_split(mux_frame(4, "abc"), {}, MuxError::bad_stream_type);
  // A bad type with bad padding as well reports the type.
  std::string both = mux_frame(9, "");
  both[2] = 1;
  expect_at_every_split(both, {}, MuxError::bad_stream_type);
}

TEST(MuxDecoder, ErrorsAreSticky) {
  const std::string good = mux_frame(MuxStream::stdout_data, "ok");
  MuxDecoder d;
  size_t calls = 0;
  auto sink = [&](const MuxPiece&) { ++calls; };
  EXPECT_FALSE(d.feed(good + mux_frame(7, "x") + good, sink));
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(d.error(), MuxError::bad_stream_type);
  EXPECT_FALSE(d.partial());
  EXPECT_FALSE(d.feed(good, sink));
  EXPECT_FALSE(d.feed("", sink));
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(d.error(), MuxError::bad_stream_type);
  EXPECT_STRNE(describe(MuxError::bad_header), describe(MuxError::bad_stream_type));
  EXPECT_STRNE(describe(MuxError::none), describe(MuxError::bad_header));
}

TEST(MuxDecoder, TruncationIsPartial) {
  const std::string bytes = encode(sample_frames());
  // Frame boundaries: a cut exactly there leaves nothing unfinished.
  std::vector<size_t> ends = {0};
  for (const Frame& f : sample_frames()) ends.push_back(ends.back() + 8 + f.data.size());
  for (size_t k = 0; k <= bytes.size(); ++k) {
    const Outcome o = feed_all({std::string_view(bytes).substr(0, k)});
    const bool at_boundary = std::find(ends.begin(), ends.end(), k) != ends.end();
    EXPECT_EQ(o.partial, !at_boundary) << k;
    EXPECT_TRUE(o.ok) << k;
    const size_t complete = std::upper_bound(ends.begin(), ends.end(), k) - ends.begin() - 1;
    EXPECT_EQ(o.frames.size(), complete) << k;
  }
}

TEST(MuxDecoder, HugeLengthIsStreamedNotBuffered) {
  // The framing has no size limit: a 4 GiB - 1 frame is just a long stream of pieces.
  std::string header = mux_frame(MuxStream::stdout_data, "");
  wire::put_u32_be(header.data() + 4, 0xFFFFFFFF);
  const std::string more(1000, 'q');
  const Outcome o = feed_all({header, more, more});
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.partial);
  EXPECT_TRUE(o.frames.empty());
  EXPECT_EQ(o.open.size(), 2000u);
  EXPECT_EQ(o.pieces, 2u);
}

TEST(MuxDecoder, OneMiBFrameInSmallPieces) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7) ^ (i >> 11));
  const std::vector<Frame> frames = {{MuxStream::stdout_data, big},
                                     {MuxStream::stderr_data, "tail"},
                                     {MuxStream::stderr_data, big.substr(1000)}};
  const std::string bytes = encode(frames);
  const size_t payload_bytes = bytes.size() - 8 * frames.size();
  for (size_t piece : {size_t{1}, size_t{4096}, size_t{4093}}) {
    const Outcome o = feed_all(test::fixed_pieces(bytes, piece));
    expect_outcome(o, frames, MuxError::none, false, "pieces of " + std::to_string(piece));
    EXPECT_GE(o.pieces, payload_bytes / piece);
    if (piece == 1) {
      EXPECT_EQ(o.pieces, payload_bytes);
    }
  }
}

}  // namespace
}  // namespace alk::docker

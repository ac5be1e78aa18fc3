// Fuzzes Docker's multiplexed stream decoder: any split yields the same frames as one feed, the
// frames re-encode to the bytes consumed, errors are sticky and silence the sink.
#include <string>
#include <vector>

#include "docker/mux_decoder.h"
#include "fuzz_util.h"
#include "wire/envelope.h"

namespace {

using alk::docker::MuxDecoder;
using alk::docker::MuxError;
using alk::docker::MuxPiece;
using alk::docker::MuxStream;

struct Outcome {
  std::vector<std::pair<MuxStream, std::string>> frames;
  std::string open;  // payload of the unfinished frame
  MuxStream open_stream = MuxStream::stdout_data;
  bool in_frame = false;
  MuxError error = MuxError::none;
  bool partial = false;
};

Outcome decode(const std::vector<std::string>& pieces) {
  MuxDecoder d;
  Outcome o;
  bool failed = false;
  for (const std::string& p : pieces) {
    const bool ok = d.feed(p, [&](const MuxPiece& piece) {
      FUZZ_CHECK(!failed);
      FUZZ_CHECK(static_cast<uint8_t>(piece.stream) <= 3);
      FUZZ_CHECK(piece.frame_end || !piece.data.empty());
      FUZZ_CHECK(piece.data.empty() ||
                 (piece.data.data() >= p.data() &&
                  piece.data.data() + piece.data.size() <= p.data() + p.size()));
      if (o.in_frame) FUZZ_CHECK(piece.stream == o.open_stream);
      o.open += piece.data;
      o.open_stream = piece.stream;
      o.in_frame = !piece.frame_end;
      if (piece.frame_end) {
        o.frames.emplace_back(piece.stream, std::move(o.open));
        o.open.clear();
      }
    });
    FUZZ_CHECK(ok == (d.error() == MuxError::none));
    if (failed) FUZZ_CHECK(!ok);
    failed = !ok;
  }
  o.error = d.error();
  o.partial = d.partial();
  if (o.error != MuxError::none) FUZZ_CHECK(!o.partial);
  return o;
}

std::string header(uint8_t type, uint32_t len) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(type);
  alk::wire::put_u32_be(h.data() + 4, len);
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > alk::fuzz::kMaxInputBytes) return 0;
  FuzzedDataProvider fdp(data, size);
  const std::vector<std::string> pieces = alk::fuzz::consume_pieces(fdp);
  const std::string stream = alk::fuzz::join(pieces);

  const Outcome split = decode(pieces);
  const Outcome whole = decode({stream});
  FUZZ_CHECK(split.error == whole.error);
  FUZZ_CHECK(split.partial == whole.partial);
  FUZZ_CHECK(split.frames == whole.frames);
  FUZZ_CHECK(split.open == whole.open);

  // Whole frames re-encode to the bytes they came from.
  std::string reencoded;
  for (const auto& [stream_id, payload] : whole.frames) {
    reencoded += header(static_cast<uint8_t>(stream_id), static_cast<uint32_t>(payload.size()));
    reencoded += payload;
  }
  FUZZ_CHECK(stream.compare(0, reencoded.size(), reencoded) == 0);
  const std::string_view rest = std::string_view(stream).substr(reencoded.size());
  if (whole.error == MuxError::bad_stream_type) {
    FUZZ_CHECK(rest.size() >= 8 && static_cast<uint8_t>(rest[0]) > 3);
  } else if (whole.error == MuxError::bad_header) {
    FUZZ_CHECK(rest.size() >= 8 && (rest[1] != 0 || rest[2] != 0 || rest[3] != 0));
  } else {
    // No error: the rest is an unfinished header, or a header plus part of its payload.
    FUZZ_CHECK(whole.partial == !rest.empty());
    if (rest.size() >= 8) {
      FUZZ_CHECK(alk::wire::get_u32_be(rest.data() + 4) > rest.size() - 8);
      FUZZ_CHECK(whole.open == rest.substr(8));
    } else {
      FUZZ_CHECK(whole.open.empty());
    }
  }
  return 0;
}

// Fuzzes the call-protocol frame decoder: any split of the bytes decodes like one push, decoded
// envelopes survive re-encoding, errors are sticky and leave nothing buffered.
#include <optional>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "wire/envelope.h"
#include "wire/frame_decoder.h"

namespace {

using alk::wire::Envelope;
using alk::wire::FrameDecoder;
using alk::wire::FrameError;

struct Outcome {
  std::vector<Envelope> frames;
  FrameError error = FrameError::none;
  bool partial = false;
  std::string remaining;
};

bool same(const Envelope& a, const Envelope& b) {
  return a.type == b.type && a.id == b.id && a.payload == b.payload;
}

Outcome decode(const std::vector<std::string>& pieces, uint32_t max) {
  FrameDecoder d(max);
  Outcome o;
  for (const std::string& p : pieces) {
    d.push(p);
    while (auto env = d.next()) {
      FUZZ_CHECK(d.error() == FrameError::none);
      o.frames.push_back(std::move(*env));
    }
  }
  o.error = d.error();
  o.partial = d.partial();
  if (o.error != FrameError::none) {
    // Sticky: nothing buffered, nothing more produced, whatever is pushed.
    FUZZ_CHECK(!o.partial);
    d.push(std::string_view("\x00\x00\x00\x02{}", 6));
    FUZZ_CHECK(!d.next().has_value());
    FUZZ_CHECK(d.error() == o.error);
    FUZZ_CHECK(!d.partial());
  }
  o.remaining = d.take_remaining();
  FUZZ_CHECK(o.partial == !o.remaining.empty());
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > alk::fuzz::kMaxInputBytes) return 0;
  FuzzedDataProvider fdp(data, size);
  // Mostly the real limit; sometimes a tiny one so the too_large path sees real bodies.
  const uint8_t limit_choice = fdp.ConsumeIntegral<uint8_t>();
  const uint32_t max = limit_choice < 0xC0 ? alk::wire::kMaxFrameBytes : 1u + limit_choice;
  const int times = fdp.ConsumeIntegralInRange<int>(1, 8);
  const std::vector<std::string> pieces = alk::fuzz::repeat(alk::fuzz::consume_pieces(fdp), times);
  const std::string stream = alk::fuzz::join(pieces);

  const Outcome split = decode(pieces, max);
  const Outcome whole = decode({stream}, max);
  FUZZ_CHECK(split.error == whole.error);
  FUZZ_CHECK(split.partial == whole.partial);
  FUZZ_CHECK(split.remaining == whole.remaining);
  FUZZ_CHECK(split.frames.size() == whole.frames.size());
  for (size_t i = 0; i < split.frames.size(); ++i) {
    FUZZ_CHECK(same(split.frames[i], whole.frames[i]));
  }

  std::string reencoded;
  for (const Envelope& env : whole.frames) {
    // Every decoded envelope re-encodes (far below the limit: the input is small) and decodes
    // to itself.
    std::string frame;
    FUZZ_CHECK(alk::wire::append_frame(frame, env));
    FUZZ_CHECK(frame.size() > alk::wire::kFramePrefixBytes);
    Envelope again;
    FUZZ_CHECK(alk::wire::parse_envelope(std::string_view(frame).substr(4), again) ==
               FrameError::none);
    FUZZ_CHECK(same(env, again));
    reencoded += frame;
  }
  // The canonical encoding of a stream decodes to the same envelopes, and is a fixed point.
  const Outcome canonical = decode({reencoded}, alk::wire::kMaxFrameBytes);
  FUZZ_CHECK(canonical.error == FrameError::none && !canonical.partial);
  FUZZ_CHECK(canonical.frames.size() == whole.frames.size());
  std::string twice;
  for (size_t i = 0; i < canonical.frames.size(); ++i) {
    FUZZ_CHECK(same(canonical.frames[i], whole.frames[i]));
    alk::wire::append_frame(twice, canonical.frames[i]);
  }
  FUZZ_CHECK(twice == reencoded);
  return 0;
}

// Fuzzes the canonical-JSON recogniser the call CLI's fast path relies on: whatever it accepts
// parses, and prints back byte for byte (dump(parse(text)) == text); a call.responded body it takes
// apart parses to the same envelope, with that output.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "wire/canonical_json.h"
#include "wire/envelope.h"
#include "wire/frame_decoder.h"

namespace {

std::string dump(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void check_text(std::string_view text) {
  if (!alk::wire::is_canonical_json(text)) return;
  const nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  FUZZ_CHECK(!v.is_discarded());
  FUZZ_CHECK(dump(v) == text);
}

void check_body(std::string_view body) {
  const std::optional<std::string_view> output = alk::wire::canonical_responded_output(body);
  if (!output) return;
  alk::wire::Envelope env;
  FUZZ_CHECK(alk::wire::parse_envelope(body, env) == alk::wire::FrameError::none);
  FUZZ_CHECK(env.type == alk::wire::kResponded);
  FUZZ_CHECK(env.payload.is_object() && env.payload.size() == 1 && env.payload.contains("output"));
  FUZZ_CHECK(dump(env.payload["output"]) == *output);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_text(text);
  // The input as a whole body, and as the output inside one of ours.
  check_body(text);
  const std::string body =
      R"({"type":"call.responded","id":"c1","payload":{"output":)" + std::string(text) + "}}";
  check_body(body);
  if (const auto output = alk::wire::canonical_responded_output(body)) FUZZ_CHECK(*output == text);
  return 0;
}

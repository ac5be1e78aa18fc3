#include "wire/envelope.h"

#include "wire/json_text.h"

namespace alk::wire {

namespace {

// Writes the length prefix reserved at `start`, or takes the frame back out when it is too large.
bool seal_frame(std::string& out, size_t start) {
  const size_t body = out.size() - start - kFramePrefixBytes;
  if (body > kMaxFrameBytes) {
    out.resize(start);
    return false;
  }
  put_u32_be(out.data() + start, static_cast<uint32_t>(body));
  return true;
}

}  // namespace

bool append_frame_raw(std::string& out, std::string_view type, std::string_view id,
                      std::string_view payload_json) {
  const size_t start = out.size();
  out.append(kFramePrefixBytes, '\0');
  out += R"({"type":)";
  append_json_string(out, type);
  out += R"(,"id":)";
  append_json_string(out, id);
  out += R"(,"payload":)";
  out += payload_json;
  out += '}';
  return seal_frame(out, start);
}

bool append_output_frame(std::string& out, std::string_view id, std::string_view output_json) {
  const size_t start = out.size();
  out.reserve(start + output_json.size() + id.size() + 64);
  out.append(kFramePrefixBytes, '\0');
  out += R"({"type":"call.responded","id":)";
  append_json_string(out, id);
  out += R"(,"payload":{"output":)";
  out += output_json;
  out += "}}";
  return seal_frame(out, start);
}

bool append_frame(std::string& out, const Envelope& env) {
  // Invalid UTF-8 inside the payload is replaced rather than throwing: an encoder must never fail
  // on a value the engine built itself.
  const std::string payload =
      env.payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return append_frame_raw(out, env.type, env.id, payload);
}

std::string encode_frame(const Envelope& env) {
  std::string out;
  append_frame(out, env);
  return out;
}

}  // namespace alk::wire

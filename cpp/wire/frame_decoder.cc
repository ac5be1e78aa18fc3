#include "wire/frame_decoder.h"

namespace alk::wire {

namespace {

constexpr int kMaxJsonDepth = 128;

// nlohmann's parser is iterative, but dump() and a few algorithms recurse; bounding the nesting
// depth of untrusted input keeps every later use of the value safe.
bool depth_within_limit(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

}  // namespace

const char* describe(FrameError e) {
  switch (e) {
    case FrameError::none:
      return "no error";
    case FrameError::zero_length:
      return "frame length is zero";
    case FrameError::too_large:
      return "frame length exceeds the limit";
    case FrameError::malformed_json:
      return "frame body is not valid JSON";
    case FrameError::bad_envelope:
      return "frame body is not an envelope {type: string, id: string, payload}";
  }
  return "unknown frame error";
}

FrameError parse_envelope(std::string_view body, Envelope& out, std::string* detail) {
  if (!depth_within_limit(body)) {
    if (detail) *detail = "JSON nests deeper than 128 levels";
    return FrameError::malformed_json;
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    if (detail) *detail = "body does not parse as JSON";
    return FrameError::malformed_json;
  }
  if (!doc.is_object()) return FrameError::bad_envelope;
  auto type = doc.find("type");
  auto id = doc.find("id");
  auto payload = doc.find("payload");
  if (type == doc.end() || !type->is_string() || id == doc.end() || !id->is_string() ||
      payload == doc.end()) {
    if (detail) *detail = "missing or mistyped type/id/payload";
    return FrameError::bad_envelope;
  }
  out.type = type->get<std::string>();
  out.id = id->get<std::string>();
  out.payload = std::move(*payload);
  return FrameError::none;
}

void FrameDecoder::push(std::string_view bytes) {
  if (error_ != FrameError::none) return;
  settle();
  buf_.append(bytes);
}

void FrameDecoder::fail(FrameError e, std::string detail) {
  error_ = e;
  detail_ = std::move(detail);
  buf_.clear();
  consumed_ = 0;
}

std::optional<std::string_view> FrameDecoder::next_body() {
  if (error_ != FrameError::none) return std::nullopt;
  settle();
  const std::string_view pending = buf_.view();
  if (pending.size() < kFramePrefixBytes) return std::nullopt;
  const uint32_t len = get_u32_be(pending.data());
  if (len == 0) {
    fail(FrameError::zero_length, "length 0");
    return std::nullopt;
  }
  if (len > max_) {
    fail(FrameError::too_large, "length " + std::to_string(len));
    return std::nullopt;
  }
  if (pending.size() - kFramePrefixBytes < len) return std::nullopt;
  consumed_ = kFramePrefixBytes + len;
  return pending.substr(kFramePrefixBytes, len);
}

std::optional<Envelope> FrameDecoder::next() {
  const std::optional<std::string_view> body = next_body();
  if (!body) return std::nullopt;
  Envelope env;
  std::string detail;
  const FrameError e = parse_envelope(*body, env, &detail);
  if (e != FrameError::none) {
    fail(e, std::move(detail));
    return std::nullopt;
  }
  return env;
}

}  // namespace alk::wire

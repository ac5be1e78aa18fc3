#include "ops/output_events.h"

#include "wire/json_text.h"

namespace alk::ops {

void append_output_event(std::string& out, std::string_view stream, std::string_view bytes,
                         std::string_view timestamp) {
  // Keys in sorted order, as nlohmann and serde_json write objects: receivers may pass the text on
  // as is (see wire::is_canonical_json).
  const size_t start = out.size();
  out += R"({"stream":")";
  out += stream;
  out += R"(","text":)";
  if (!wire::append_json_string_if_utf8(out, bytes)) {
    out.resize(start);
    out += R"({"base64":")";
    wire::append_base64(out, bytes);
    out += R"(","stream":")";
    out += stream;
    out += '"';
  }
  if (!timestamp.empty()) {
    out += R"(,"timestamp":)";
    wire::append_json_string(out, timestamp);
  }
  out += '}';
}

std::string_view Utf8Joiner::push(std::string_view piece) {
  std::string_view whole = piece;
  if (!carry_.empty()) {
    joined_.assign(carry_);
    joined_.append(piece);
    carry_.clear();
    whole = joined_;
  }
  const size_t tail = wire::utf8_incomplete_tail(whole);
  carry_.assign(whole.substr(whole.size() - tail));
  return whole.substr(0, whole.size() - tail);
}

std::string Utf8Joiner::take_rest() {
  std::string rest;
  rest.swap(carry_);
  return rest;
}

void split_timestamp(std::string_view line, std::string_view& timestamp, std::string_view& text) {
  // RFC 3339 with a date, "T", and a zone, then one space: at least "YYYY-MM-DDTHH:MM:SSZ ".
  const size_t space = line.find(' ');
  if (space != std::string_view::npos && space >= 20 && space <= 40 && line[4] == '-' &&
      line[7] == '-' && line[10] == 'T') {
    timestamp = line.substr(0, space);
    text = line.substr(space + 1);
    return;
  }
  timestamp = {};
  text = line;
}

}  // namespace alk::ops

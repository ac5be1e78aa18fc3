#include "node/event_queue.h"

#include <cstring>

#include "wire/json_text.h"

namespace alk::node {

void EventQueue::add_output(std::string_view json) {
  // Arrays stay below V8's large-object size (128 KiB): a larger string is allocated outside the
  // young generation, on fresh pages, for every batch.
  if (events_.empty() || events_.back().kind != EventKind::outputs ||
      events_.back().text.size() + json.size() > kMaxOutputsText) {
    events_.push_back(Event{EventKind::outputs, "[", 0, {}, {}});
  } else {
    events_.back().text += ',';
  }
  events_.back().text += json;
  events_.back().number++;
  bytes_ += json.size() + 1;
}

namespace {

bool is_ascii(std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (w & 0x8080808080808080ULL) return false;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
  }
  return true;
}

// What an event costs JS beyond its payload (the object, the strings' headers), for writable().
constexpr size_t kEventOverhead = 32;

}  // namespace

void EventQueue::add_output_event(bool is_stderr, std::string_view bytes,
                                  std::string_view timestamp) {
  if (events_.empty() || events_.back().kind != EventKind::output_events ||
      events_.back().text.size() + bytes.size() > kMaxOutputsText) {
    events_.push_back(Event{EventKind::output_events, {}, 0, {}, {}});
  }
  Event& e = events_.back();
  OutputPart part;
  part.flags = is_stderr ? OutputPart::kStderr : 0;
  const size_t before = e.text.size();
  if (is_ascii(bytes)) {
    part.flags |= OutputPart::kAscii;
    e.text += bytes;
  } else if (wire::is_valid_utf8(bytes)) {
    e.text += bytes;
  } else {
    part.flags |= OutputPart::kBase64 | OutputPart::kAscii;
    wire::append_base64(e.text, bytes);
  }
  part.bytes = static_cast<uint32_t>(e.text.size() - before);
  if (!timestamp.empty()) {
    part.flags |= OutputPart::kTimestamp;
    part.stamp_bytes = static_cast<uint32_t>(timestamp.size());
    e.stamps += timestamp;
  }
  e.parts.push_back(part);
  e.number++;
  bytes_ += part.bytes + part.stamp_bytes + kEventOverhead;
}

void EventQueue::add_bytes(EventKind kind, std::string_view bytes) {
  if (bytes.empty()) return;
  if (events_.empty() || events_.back().kind != kind) events_.push_back(Event{kind, {}, 0, {}, {}});
  events_.back().text += bytes;
  bytes_ += bytes.size();
}

void EventQueue::add(EventKind kind, int64_t number, std::string text) {
  bytes_ += text.size();
  events_.push_back(Event{kind, std::move(text), number, {}, {}});
}

std::vector<Event> EventQueue::take() {
  std::vector<Event> out;
  out.swap(events_);
  for (Event& e : out) {
    if (e.kind == EventKind::outputs) e.text += ']';
  }
  bytes_ = 0;
  return out;
}

}  // namespace alk::node

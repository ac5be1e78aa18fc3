#include "node/event_queue.h"

namespace alk::node {

void EventQueue::add_output(std::string_view json) {
  if (events_.empty() || events_.back().kind != EventKind::outputs) {
    events_.push_back(Event{EventKind::outputs, "[", 0});
  } else {
    events_.back().text += ',';
  }
  events_.back().text += json;
  events_.back().number++;
  bytes_ += json.size() + 1;
}

void EventQueue::add_bytes(EventKind kind, std::string_view bytes) {
  if (bytes.empty()) return;
  if (events_.empty() || events_.back().kind != kind) events_.push_back(Event{kind, {}, 0});
  events_.back().text += bytes;
  bytes_ += bytes.size();
}

void EventQueue::add(EventKind kind, int64_t number, std::string text) {
  bytes_ += text.size();
  events_.push_back(Event{kind, std::move(text), number});
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

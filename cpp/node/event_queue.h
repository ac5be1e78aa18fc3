// The events of one call waiting for delivery to JavaScript, batched: consecutive outputs become
// one JSON array text (parsed by one JSON.parse in JS) and consecutive stdout or stderr chunks one
// buffer, so a burst of log lines costs one call into JS instead of one per line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace alk::node {

/// What an event is. The numbers are part of the contract with lib/engine.js.
enum class EventKind : uint8_t {
  outputs = 0,      ///< text: a JSON array of call.responded outputs, in order
  stdout_data = 1,  ///< text: raw stdout bytes (raw carriage)
  stderr_data = 2,  ///< text: raw stderr bytes (raw carriage)
  raw_open = 3,     ///< number: 1 when the session is a TTY; the switch to the raw carriage
  control = 4,      ///< text: a control-out JSON message other than exit
  exit = 5,         ///< number: the exit code (-1 unknown); terminal for a raw call
  completed = 6,    ///< call.completed; terminal for a subscription
  answered = 7,     ///< a query's or mutation's single output was the last outputs entry; terminal
  error = 8,        ///< text: the call.error payload JSON; terminal
  drain = 9,        ///< the handler resumed stdin after pause_input()
};

struct Event {
  EventKind kind;
  std::string text;  ///< outputs: "[a,b" until take() closes it
  int64_t number = 0;
};

/// Loop-thread only; no N-API here, so it can be tested on its own.
class EventQueue {
 public:
  /// Appends one output (a complete JSON value) to the trailing outputs array.
  void add_output(std::string_view json);
  /// Appends raw bytes; joined with a trailing chunk of the same kind.
  void add_bytes(EventKind kind, std::string_view bytes);
  /// Appends an event with a number or a text.
  void add(EventKind kind, int64_t number = 0, std::string text = {});

  /// Text bytes waiting: what writable() weighs against the high-water mark.
  size_t bytes() const { return bytes_; }
  bool empty() const { return events_.empty(); }
  /// The events in order (outputs arrays closed with "]"); the queue is empty afterwards.
  std::vector<Event> take();

 private:
  std::vector<Event> events_;
  size_t bytes_ = 0;
};

}  // namespace alk::node

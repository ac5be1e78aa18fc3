// The events of one call waiting for delivery to JavaScript, batched: consecutive outputs become
// one JSON array text (parsed by one JSON.parse in JS), consecutive output events of logs/exec/run
// one list of their parts (turned into objects by lib/engine.js, no JSON on either side), and
// consecutive stdout or stderr chunks one buffer, so a burst of log lines costs one call into JS
// instead of one per line.
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
  /// parts: output events {"stream", "text"|"base64", "timestamp"?}, in order; number counts them
  output_events = 10,
};

/// One output event of an output_events batch; its payload and timestamp are the next `bytes` and
/// `stamp_bytes` of the batch's `text` and `stamps`.
struct OutputPart {
  static constexpr uint8_t kStderr = 1;  ///< else stdout
  static constexpr uint8_t kBase64 = 2;  ///< the payload is the base64 of bytes that are not UTF-8
  static constexpr uint8_t kAscii = 4;   ///< the payload is ASCII (also true for base64)
  static constexpr uint8_t kTimestamp = 8;  ///< the event has a timestamp
  uint32_t bytes = 0;
  uint32_t stamp_bytes = 0;
  uint8_t flags = 0;
};

struct Event {
  EventKind kind;
  std::string text;  ///< outputs: "[a,b" until take() closes it; output_events: the payloads
  int64_t number = 0;
  std::vector<OutputPart> parts;  ///< output_events
  std::string stamps;             ///< output_events: the timestamps, back to back
};

/// Loop-thread only; no N-API here, so it can be tested on its own.
class EventQueue {
 public:
  /// Consecutive outputs are joined into one array text up to this size; more start a new one.
  static constexpr size_t kMaxOutputsText = size_t{64} << 10;

  /// Appends one output (a complete JSON value) to the trailing outputs array.
  void add_output(std::string_view json);
  /// Appends one output event (see CallSink::respond_output_event) to the trailing output_events
  /// batch.
  void add_output_event(bool is_stderr, std::string_view bytes, std::string_view timestamp);
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

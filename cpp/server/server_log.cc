#include "server/server_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace alk::server {

namespace {

std::string now_iso() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// Caller-chosen text (operation, container id, request id, a peer's close reason) cannot forge a
// line or a field: control characters and backslashes (and spaces, except in the trailing detail)
// are escaped as \xNN.
std::string clean(const std::string& s, bool keep_spaces = false) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || (c == ' ' && !keep_spaces) || c == 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string format_call_line(const call::CallRecord& r) {
  std::string line = "call peer=" + (r.peer.empty() ? std::string("anonymous") : clean(r.peer)) +
                     " via=" + r.transport + " op=" + clean(r.operation);
  if (!r.resource.empty()) line += " resource=" + clean(r.resource);
  char ms[32];
  std::snprintf(ms, sizeof(ms), "%.1f", r.duration_ms);
  line += " id=" + clean(r.request_id) + " outcome=" + r.outcome + " duration_ms=" + ms;
  if (!r.detail.empty()) line += " detail=" + clean(r.detail, /*keep_spaces=*/true);
  return line;
}

std::string format_connection_line(const std::string& listener,
                                   const transport::quic::ConnectionRecord& r) {
  std::string line = "quic connection " + r.event + " listener=" + listener +
                     " peer=" + (r.peer.empty() ? "-" : r.peer) + " addr=" + r.address;
  if (r.event == "open") return line;
  char ms[32];
  std::snprintf(ms, sizeof(ms), "%.1f", r.duration_ms);
  line += " calls=" + std::to_string(r.calls) + " duration_ms=" + ms + " outcome=" + r.outcome;
  if (!r.detail.empty()) line += " detail=" + clean(r.detail, /*keep_spaces=*/true);
  return line;
}

void log_call(const call::CallRecord& record) {
  log_event(format_call_line(record));
}

void log_connection(const std::string& listener, const transport::quic::ConnectionRecord& record) {
  log_event(format_connection_line(listener, record));
}

void log_event(const std::string& message) {
  std::fprintf(stderr, "%s %s\n", now_iso().c_str(), message.c_str());
}

}  // namespace alk::server

#include "server/call_log.h"

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

// Caller-chosen text (operation, container id, request id) cannot forge a line or a field:
// control characters and backslashes (and spaces, except in the trailing detail) are escaped as
// \xNN.
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

void log_call(const call::CallRecord& r) {
  const std::string peer = r.peer.empty() ? "anonymous" : clean(r.peer);
  const std::string resource = r.resource.empty() ? "" : " resource=" + clean(r.resource);
  std::fprintf(stderr, "%s call peer=%s via=%s op=%s%s id=%s outcome=%s duration_ms=%.1f%s%s\n",
               now_iso().c_str(), peer.c_str(), r.transport.c_str(), clean(r.operation).c_str(),
               resource.c_str(), clean(r.request_id).c_str(), r.outcome.c_str(), r.duration_ms,
               r.detail.empty() ? "" : " detail=", clean(r.detail, true).c_str());
}

void log_event(const std::string& message) {
  std::fprintf(stderr, "%s %s\n", now_iso().c_str(), message.c_str());
}

}  // namespace alk::server

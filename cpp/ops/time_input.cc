#include "ops/time_input.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace alk::ops {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string seconds_and_nanos(int64_t seconds, int64_t nanos) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(seconds),
                static_cast<long long>(nanos));
  return buf;
}

// "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" → unix seconds and nanoseconds.
bool parse_rfc3339(std::string_view s, int64_t& seconds, int64_t& nanos) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return false;
  }
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = 0; i < len; ++i) v = v * 10 + (s[at + i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return false;
  }
  size_t i = 19;
  nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return false;
    for (int d = digits; d < 9; ++d) nanos *= 10;
  }
  int64_t offset = 0;
  const std::string_view zone = s.substr(i);
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
             all_digits(zone.substr(1, 2)) && all_digits(zone.substr(4, 2))) {
    offset = ((zone[1] - '0') * 10 + (zone[2] - '0')) * 3600 +
             ((zone[4] - '0') * 10 + (zone[5] - '0')) * 60;
    if (zone[0] == '-') offset = -offset;
  } else {
    return false;
  }
  seconds = static_cast<int64_t>(timegm(&tm)) - offset;
  return true;
}

}  // namespace

nlohmann::json time_input_schema(std::string_view description) {
  return {{"type", {"number", "string"}}, {"description", description}};
}

Result<std::string, call::CallError> to_docker_time(const nlohmann::json& value,
                                                    std::string_view field, int64_t now_unix) {
  const auto bad = [&] {
    return unexpected(call::CallError::invalid_input(
        field, "must be unix seconds, an RFC 3339 time or a duration such as \"10m\""));
  };
  if (value.is_number_integer()) {
    if (value.get<int64_t>() < 0) return bad();
    return std::to_string(value.get<int64_t>());
  }
  if (value.is_number()) {
    const double v = value.get<double>();
    if (!(v >= 0) || v > 1e15) return bad();
    const double whole = std::floor(v);
    return seconds_and_nanos(static_cast<int64_t>(whole),
                             std::llround((v - whole) * 1e9) % 1000000000);
  }
  if (!value.is_string()) return bad();
  const std::string& s = value.get_ref<const std::string&>();
  const size_t dot = s.find('.');
  if (all_digits(s) ||
      (dot != std::string::npos && all_digits(std::string_view(s).substr(0, dot)) &&
       all_digits(std::string_view(s).substr(dot + 1)) && s.size() - dot - 1 <= 9)) {
    return s;
  }
  int64_t seconds = 0, nanos = 0;
  if (parse_rfc3339(s, seconds, nanos)) {
    if (seconds < 0) return bad();
    return seconds_and_nanos(seconds, nanos);
  }
  if (s.size() >= 2 && s.size() <= 12 && all_digits(std::string_view(s).substr(0, s.size() - 1))) {
    const int64_t n = std::stoll(s.substr(0, s.size() - 1));
    const char unit = s.back();
    const int64_t factor = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
    if (factor != 0) return std::to_string(std::max<int64_t>(0, now_unix - n * factor));
  }
  return bad();
}

}  // namespace alk::ops

#include "docker/http_types.h"

#include <nlohmann/json.hpp>

namespace alk::docker {

namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

const std::string* Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

Error Error::from_response(const Response& r) {
  Error e;
  e.kind = Kind::http;
  e.status = r.status;
  // The daemon answers errors as {"message": "..."}; anything else is kept as text, bounded.
  const auto parsed = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    if (auto it = parsed.find("message"); it != parsed.end() && it->is_string()) {
      e.message = it->get<std::string>();
    }
  }
  if (e.message.empty()) {
    const std::string_view text = trim(r.body);
    constexpr size_t kMaxText = 2048;
    e.message = std::string(text.substr(0, kMaxText));
  }
  if (e.message.empty()) e.message = "HTTP status " + std::to_string(r.status);
  return e;
}

const char* describe(Error::Kind k) {
  switch (k) {
    case Error::Kind::unavailable:
      return "unavailable";
    case Error::Kind::timeout:
      return "timeout";
    case Error::Kind::http:
      return "http";
    case Error::Kind::protocol:
      return "protocol";
    case Error::Kind::upgrade_refused:
      return "upgrade_refused";
    case Error::Kind::api_version:
      return "api_version";
    case Error::Kind::tls:
      return "tls";
  }
  return "unknown";
}

std::string percent_encode(std::string_view s, bool as_path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr std::string_view kPathExtra = "/:@!$&'()*+,;=";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (as_path && kPathExtra.find(c) != std::string_view::npos)) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0x0F];
    }
  }
  return out;
}

}  // namespace alk::docker

#include "identity/peers_file.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "identity/json_positions.h"

namespace alk::identity {

using nlohmann::json;

namespace {

// A validation failure at a JSON path; formatted with the line once caught.
struct Bad {
  std::string path;
  std::string problem;
};

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// [A-Za-z0-9] then `rest` characters, at most `max` long.
bool is_word(std::string_view s, std::string_view rest, size_t max) {
  if (s.empty() || s.size() > max || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && rest.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// "container:create": lowercase words around one colon.
bool is_scope(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == colon) continue;
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-') return false;
  }
  return true;
}

const json& expect(const json& j, json::value_t type, const char* what, const std::string& path) {
  if (j.type() != type) throw Bad{path, std::string("expected ") + what + ", got " + j.type_name()};
  return j;
}

std::string expect_string(const json& j, const std::string& path) {
  return expect(j, json::value_t::string, "a string", path).get<std::string>();
}

void only_fields(const json& obj, std::initializer_list<std::string_view> allowed,
                 const std::string& path) {
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (known) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    throw Bad{member_path(path, key), "unknown field (allowed: " + list + ")"};
  }
}

std::string fingerprint(const json& j, const std::string& path) {
  const std::string s = expect_string(j, path);
  for (std::string_view prefix : {"SHA256:", "ed25519:"}) {
    if (starts_with(s, prefix) && is_hex64(std::string_view(s).substr(prefix.size()))) {
      return std::string(prefix) + lower(std::string_view(s).substr(prefix.size()));
    }
  }
  throw Bad{path,
            "expected \"SHA256:\" and the 64 hex digits of sha256(certificate DER) (or "
            "\"ed25519:\" and a 64-hex-digit key)"};
}

std::string token_hash(const json& j, const std::string& path) {
  const std::string s = expect_string(j, path);
  if (starts_with(s, "sha256:") && is_hex64(std::string_view(s).substr(7))) {
    return "sha256:" + lower(std::string_view(s).substr(7));
  }
  throw Bad{path, "expected \"sha256:\" and the 64 hex digits of sha256(token)"};
}

std::string scope(const json& j, const std::string& path, const std::set<std::string>& known) {
  std::string s = expect_string(j, path);
  if (!is_scope(s)) throw Bad{path, "\"" + s + "\" is not a scope (expected e.g. container:list)"};
  if (!known.empty() && !known.count(s)) {
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Bad{path, "unknown scope \"" + s + "\" (known: " + list + ")"};
  }
  return s;
}

PeerEntry peer_entry(const json& j, const std::string& path, const PeersParseOptions& options) {
  expect(j, json::value_t::object, "an object", path);
  only_fields(j, {"id", "displayName", "fingerprints", "tokenHash", "scopes", "enabled"}, path);
  PeerEntry p;
  auto id = j.find("id");
  if (id == j.end()) throw Bad{path, "missing required field \"id\""};
  p.id = expect_string(*id, member_path(path, "id"));
  if (!is_word(p.id, "._:@-", 128)) {
    throw Bad{member_path(path, "id"),
              "expected 1-128 characters [A-Za-z0-9._:@-], starting with a letter or digit"};
  }
  if (p.id == kLocalPeerId || p.id == kAnonymousPeerId) {
    throw Bad{member_path(path, "id"), "\"" + p.id + "\" is reserved"};
  }
  if (auto it = j.find("displayName"); it != j.end()) {
    p.display_name = expect_string(*it, member_path(path, "displayName"));
  }
  if (auto it = j.find("fingerprints"); it != j.end()) {
    const std::string fpath = member_path(path, "fingerprints");
    expect(*it, json::value_t::array, "an array", fpath);
    for (size_t i = 0; i < it->size(); ++i) {
      p.fingerprints.push_back(fingerprint((*it)[i], element_path(fpath, i)));
    }
  }
  if (auto it = j.find("tokenHash"); it != j.end()) {
    p.token_hash = token_hash(*it, member_path(path, "tokenHash"));
  }
  if (auto it = j.find("scopes"); it != j.end()) {
    const std::string spath = member_path(path, "scopes");
    expect(*it, json::value_t::array, "an array", spath);
    for (size_t i = 0; i < it->size(); ++i) {
      std::string s = scope((*it)[i], element_path(spath, i), options.known_scopes);
      bool seen = false;
      for (const auto& have : p.scopes) seen = seen || have == s;
      if (!seen) p.scopes.push_back(std::move(s));
    }
  }
  if (auto it = j.find("enabled"); it != j.end()) {
    p.enabled =
        expect(*it, json::value_t::boolean, "a boolean", member_path(path, "enabled")).get<bool>();
  }
  if (p.enabled && p.fingerprints.empty() && p.token_hash.empty()) {
    throw Bad{path, "peer \"" + p.id +
                        "\" has neither fingerprints nor tokenHash: nothing can authenticate as it "
                        "(set \"enabled\": false to keep it)"};
  }
  return p;
}

// Refuses a value (id, fingerprint, token hash) that two peers share.
class UniqueValues {
 public:
  UniqueValues(const char* what, const JsonPositions& positions)
      : what_(what), positions_(positions) {}
  void add(const std::string& value, const std::string& path) {
    auto [it, inserted] = seen_.emplace(value, path);
    if (inserted) return;
    const int line = positions_.line_of(it->second);
    throw Bad{path, std::string("duplicate ") + what_ + " (already at " + it->second +
                        (line ? ", line " + std::to_string(line) : "") + ")"};
  }

 private:
  const char* what_;
  const JsonPositions& positions_;
  std::map<std::string, std::string> seen_;
};

PeersConfig config(const json& doc, const PeersParseOptions& options,
                   const JsonPositions& positions) {
  expect(doc, json::value_t::object, "an object", "(root)");
  only_fields(doc, {"labelPrefix", "peers"}, "");
  PeersConfig c;
  if (auto it = doc.find("labelPrefix"); it != doc.end()) {
    c.label_prefix = expect_string(*it, "labelPrefix");
    c.label_prefix_set = true;
    if (!is_word(c.label_prefix, ".-", 64)) {
      throw Bad{"labelPrefix",
                "expected 1-64 characters [A-Za-z0-9.-], starting with a letter or digit"};
    }
  }
  auto peers = doc.find("peers");
  if (peers == doc.end()) throw Bad{"(root)", "missing required field \"peers\""};
  expect(*peers, json::value_t::array, "an array", "peers");
  UniqueValues ids("peer id", positions), fps("fingerprint", positions),
      tokens("tokenHash", positions);
  for (size_t i = 0; i < peers->size(); ++i) {
    const std::string path = element_path("peers", i);
    PeerEntry p = peer_entry((*peers)[i], path, options);
    ids.add(p.id, member_path(path, "id"));
    for (size_t f = 0; f < p.fingerprints.size(); ++f) {
      fps.add(p.fingerprints[f], element_path(member_path(path, "fingerprints"), f));
    }
    if (!p.token_hash.empty()) tokens.add(p.token_hash, member_path(path, "tokenHash"));
    c.peers.push_back(std::move(p));
  }
  return c;
}

}  // namespace

Result<PeersConfig, std::string> parse_peers(std::string_view text,
                                             const PeersParseOptions& options) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based: the last byte read.
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    const int line = JsonPositions::line_at(text, at);
    const size_t newline = at == 0 ? std::string_view::npos : text.rfind('\n', at - 1);
    const size_t column = newline == std::string_view::npos ? at + 1 : at - newline;
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error …"
    if (auto pos = what.find(": "); pos != std::string::npos && what.find("column") < pos) {
      what = what.substr(pos + 2);
    }
    return unexpected(options.source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                      ": invalid JSON: " + what);
  }
  JsonPositions positions;
  if (auto dup = JsonPositions::index(text, positions)) {
    return unexpected(options.source + ":" + dup->substr(5));  // "line N: …" → "file:N: …"
  }
  try {
    return config(doc, options, positions);
  } catch (const Bad& bad) {
    const int line = positions.line_of(bad.path == "(root)" ? "" : bad.path);
    return unexpected(options.source + ":" + (line ? std::to_string(line) + ":" : "") + " " +
                      bad.path + ": " + bad.problem);
  }
}

Result<PeersConfig, std::string> load_peers_file(const std::string& path,
                                                 PeersParseOptions options) {
  if (options.source == PeersParseOptions{}.source) options.source = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected("cannot read peers file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return unexpected("cannot read peers file " + path + ": " + std::strerror(errno));
  return parse_peers(text.str(), options);
}

}  // namespace alk::identity

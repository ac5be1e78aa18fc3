// Where each value of a JSON text starts, by path ("peers[2].scopes[0]"), so that errors about a
// parsed document can name the line at fault. nlohmann::json keeps no positions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alk::identity {

/// The line (1-based) of every value in a JSON text, keyed by its path: "" for the root, "a.b" for
/// a member, "a[3]" for an array element. Object keys are taken verbatim (escapes undecoded).
class JsonPositions {
 public:
  /// Indexes `text`, which must already have parsed as JSON. Returns an error naming the line of
  /// the first object that repeats a key (nlohmann would keep only one of them silently).
  static std::optional<std::string> index(std::string_view text, JsonPositions& out);

  /// The line where the value at `path` starts, or 0 when unknown.
  int line_of(const std::string& path) const;

  /// 1-based line of byte offset `offset` in `text`.
  static int line_at(std::string_view text, size_t offset);

 private:
  std::map<std::string, int> lines_;
};

/// "name" appended to `path` as a member ("a.name", or "name" at the root).
std::string member_path(const std::string& path, std::string_view name);
/// "[i]" appended to `path`.
std::string element_path(const std::string& path, size_t i);

}  // namespace alk::identity

#include "identity/json_positions.h"

#include <algorithm>

namespace alk::identity {

namespace {

// A recursive walk over text already known to be valid JSON.
class Walker {
 public:
  Walker(std::string_view text, std::map<std::string, int>& lines) : text_(text), lines_(lines) {}

  std::optional<std::string> value(const std::string& path) {
    skip_ws();
    if (pos_ >= text_.size()) return std::nullopt;
    lines_[path] = line_;
    const char c = text_[pos_];
    if (c == '{') return object(path);
    if (c == '[') return array(path);
    if (c == '"') {
      string();
      return std::nullopt;
    }
    while (pos_ < text_.size() && !is_delimiter(text_[pos_])) ++pos_;
    return std::nullopt;
  }

 private:
  static bool is_delimiter(char c) {
    return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
  }

  void skip_ws() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return;
      }
      ++pos_;
    }
  }

  // At the opening quote; returns the raw contents and leaves pos_ after the closing quote.
  std::string_view string() {
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    const std::string_view raw = text_.substr(start, std::min(pos_, text_.size()) - start);
    ++pos_;
    return raw;
  }

  std::optional<std::string> object(const std::string& path) {
    const int open_line = line_;
    ++pos_;
    std::vector<std::string_view> keys;
    for (;;) {
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] == '}') break;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      const int key_line = line_;
      const std::string_view key = string();
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        return "line " + std::to_string(key_line) + ": " + member_path(path, key) +
               ": duplicate key (the object starts on line " + std::to_string(open_line) + ")";
      }
      keys.push_back(key);
      skip_ws();
      ++pos_;  // ':'
      if (auto err = value(member_path(path, key))) return err;
    }
    ++pos_;
    return std::nullopt;
  }

  std::optional<std::string> array(const std::string& path) {
    ++pos_;
    for (size_t i = 0;; ++i) {
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] == ']') break;
      if (text_[pos_] == ',') {
        ++pos_;
        skip_ws();
      }
      if (auto err = value(element_path(path, i))) return err;
    }
    ++pos_;
    return std::nullopt;
  }

  std::string_view text_;
  std::map<std::string, int>& lines_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::string member_path(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string element_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::optional<std::string> JsonPositions::index(std::string_view text, JsonPositions& out) {
  out.lines_.clear();
  return Walker(text, out.lines_).value("");
}

int JsonPositions::line_of(const std::string& path) const {
  auto it = lines_.find(path);
  return it == lines_.end() ? 0 : it->second;
}

int JsonPositions::line_at(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

}  // namespace alk::identity

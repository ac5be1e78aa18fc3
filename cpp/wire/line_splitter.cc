#include "wire/line_splitter.h"

#include <algorithm>

namespace alk::wire {

namespace {

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

bool LineSplitter::push(std::string_view bytes) {
  if (failed_) return false;
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    scanned_ -= pos_;
    line_start_ -= pos_;
    pos_ = 0;
  }
  const size_t from = buf_.size();
  buf_.append(bytes);
  // Only the new bytes are searched, so a long line arriving in many reads costs no rescans.
  for (size_t nl = buf_.find('\n', from); nl != std::string::npos; nl = buf_.find('\n', nl + 1)) {
    if (nl - line_start_ > max_line_) failed_ = true;
    line_start_ = nl + 1;
  }
  if (buf_.size() - line_start_ > max_line_) failed_ = true;
  return !failed_;
}

bool LineSplitter::next(std::string_view& line) {
  while (true) {
    const size_t nl = buf_.find('\n', std::max(pos_, scanned_));
    if (nl == std::string::npos) {
      scanned_ = buf_.size();
      return false;
    }
    std::string_view view(buf_.data() + pos_, nl - pos_);
    pos_ = nl + 1;
    scanned_ = pos_;
    if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
    if (is_blank(view)) continue;
    line = view;
    return true;
  }
}

bool LineSplitter::take_last(std::string_view& line) {
  std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
  pos_ = buf_.size();
  scanned_ = pos_;
  line_start_ = pos_;  // the rest is taken: bytes pushed later start a new line
  if (is_blank(rest)) return false;
  line = rest;
  return true;
}

}  // namespace alk::wire

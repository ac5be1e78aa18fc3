#include "ops/image_ref.h"

namespace alk::ops {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::optional<call::CallError> check_image_ref(std::string_view ref, std::string_view field) {
  if (ref.empty() || ref.size() > 1024) {
    return call::CallError::invalid_input(field,
                                          "must be an image reference (1 to 1024 characters)");
  }
  for (char c : ref) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-' && c != '/' && c != ':' && c != '@') {
      return call::CallError::invalid_input(field, "may hold only letters, digits and '._-/:@'");
    }
  }
  size_t start = 0;
  while (start <= ref.size()) {
    size_t end = ref.find('/', start);
    if (end == std::string_view::npos) end = ref.size();
    const std::string_view segment = ref.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return call::CallError::invalid_input(field, "has an empty, '.' or '..' path segment");
    }
    start = end + 1;
  }
  return std::nullopt;
}

bool has_tag_or_digest(std::string_view ref) {
  if (ref.find('@') != std::string_view::npos) return true;
  const size_t colon = ref.rfind(':');
  if (colon == std::string_view::npos) return false;
  const size_t slash = ref.rfind('/');
  return slash == std::string_view::npos || colon > slash;
}

}  // namespace alk::ops

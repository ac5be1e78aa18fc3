// Image references as they go into a request path or query: checked, and split into name and tag.
#pragma once

#include <optional>
#include <string_view>

#include "call/call_error.h"

namespace alk::ops {

/// An image reference (name, name:tag, name@digest, id, sha256:id, registry:port/name…): letters,
/// digits and `._-/:@` only, no empty, `.` or `..` path segment, at most 1024 bytes — so an input
/// such as "../containers/x" can never steer a request to another endpoint. Returns INVALID_INPUT
/// naming `field`, or nullopt when the reference is acceptable.
std::optional<call::CallError> check_image_ref(std::string_view ref,
                                               std::string_view field = "image");

/// True when `ref` already names a tag or a digest ("busybox:1.36", "x@sha256:…"); a registry
/// port ("127.0.0.1:5000/x") is not a tag.
bool has_tag_or_digest(std::string_view ref);

}  // namespace alk::ops

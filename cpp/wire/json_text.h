// Hand-rolled JSON text helpers for the hot output path (log lines, exec output): escaping, UTF-8
// validation and base64, without building nlohmann::json values.
#pragma once

#include <string>
#include <string_view>

namespace alk::wire {

/// Appends `s` as a quoted JSON string. `s` must be valid UTF-8 (see is_valid_utf8); control
/// characters are escaped the way serde_json and nlohmann do (\n, \t, …, \u00XX lowercase).
void append_json_string(std::string& out, std::string_view s);

/// Same as append_json_string when `s` is valid UTF-8 (one pass for both); otherwise returns
/// false and leaves `out` unchanged.
bool append_json_string_if_utf8(std::string& out, std::string_view s);

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// Length of a trailing, possibly incomplete multi-byte sequence at the end of `s` (0..3): the
/// bytes a chunked reader should hold back until the next chunk completes them. Returns 0 when the
/// tail is complete or could never become valid.
size_t utf8_incomplete_tail(std::string_view s);

/// Appends the standard (RFC 4648, padded) base64 of `bytes`.
void append_base64(std::string& out, std::string_view bytes);

/// Decodes standard base64 into `out`. Returns false on invalid input.
bool decode_base64(std::string_view text, std::string& out);

}  // namespace alk::wire

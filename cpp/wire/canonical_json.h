// Recognising JSON text that is already in canonical form, so a receiver can pass it on without
// parsing and re-serialising it: the hot path of `alknet-docker call` printing log lines.
//
// "Canonical" is what nlohmann's compact dump() (ensure_ascii off) prints, which is also what
// serde_json prints for a sorted map: no whitespace; object keys unique and sorted by bytes;
// strings with only `"`, `\`, and control characters escaped (\b \f \n \r \t, else \u00xx in
// lowercase hex); integers only (no fraction, no exponent, no -0, at most 18 digits). For such
// text, dump(parse(text)) == text. Anything else is "not canonical" — it may still be valid JSON,
// and the caller then takes the slow path (parse + dump) to get the same answer.
#pragma once

#include <optional>
#include <string_view>

namespace alk::wire {

/// True when `text` is exactly one JSON value in canonical form (see above), nesting at most
/// `max_depth` arrays/objects deep, with valid UTF-8 in its strings.
bool is_canonical_json(std::string_view text, int max_depth = 128);

/// The output of a call.responded frame body, when the body has exactly the shape our servers
/// write — {"type":"call.responded","id":"<id>","payload":{"output":<output>}} with a plain
/// printable-ASCII id — and <output> is canonical (is_canonical_json, nesting ≤ 126 so the whole
/// body passes the decoder's depth limit). Returns a view into `body`; nullopt for any other
/// body (another type, another key order, an escaped id, non-canonical output, invalid JSON),
/// which the caller parses in full with parse_envelope().
std::optional<std::string_view> canonical_responded_output(std::string_view body);

}  // namespace alk::wire

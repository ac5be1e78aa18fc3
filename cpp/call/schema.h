// Validation of call inputs against the JSON Schema subset the operations declare.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace alk::call {

/// A failed validation: the path of the field at fault ("command[1]", "env.PATH", or "input" for
/// the whole value) and what is wrong with it.
struct SchemaViolation {
  std::string field;
  std::string problem;
};

/// Checks `value` against `schema`, supporting the keywords the operations use: type (a name or a
/// list; "integer" is a whole number), properties, required, additionalProperties (bool or schema),
/// items, enum, minimum, maximum, minLength, maxLength, minItems, maxItems. Unknown keywords
/// (title, description, default, examples) are ignored. Returns the first violation, or nullopt.
std::optional<SchemaViolation> validate(const nlohmann::json& schema, const nlohmann::json& value);

}  // namespace alk::call

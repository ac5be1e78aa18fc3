#include "call/schema.h"

namespace alk::call {

namespace {

using nlohmann::json;

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    const double d = value.get<double>();
    return d == static_cast<double>(static_cast<long long>(d));
  }
  return true;  // an unknown type name constrains nothing
}

std::string type_list(const json& t) {
  if (t.is_string()) return t.get<std::string>();
  std::string out;
  for (const auto& n : t) {
    if (!out.empty()) out += " or ";
    out += n.get<std::string>();
  }
  return out;
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

class Validator {
 public:
  std::optional<SchemaViolation> check(const json& schema, const json& value,
                                       const std::string& path) {
    if (!schema.is_object()) return std::nullopt;
    const std::string where = path.empty() ? "input" : path;
    if (auto t = schema.find("type"); t != schema.end()) {
      bool match = false;
      if (t->is_string()) {
        match = has_type(value, *t);
      } else {
        for (const auto& n : *t) match = match || has_type(value, n.get<std::string>());
      }
      if (!match)
        return SchemaViolation{where, "expected " + type_list(*t) + ", got " + value.type_name()};
    }
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      bool found = false;
      for (const auto& allowed : *e) found = found || allowed == value;
      if (!found) return SchemaViolation{where, "must be one of " + e->dump()};
    }
    if (value.is_number()) {
      if (auto v = number_bounds(schema, value, where)) return v;
    }
    if (value.is_string()) {
      const size_t len = value.get_ref<const std::string&>().size();
      if (auto m = schema.find("minLength"); m != schema.end() && len < m->get<size_t>())
        return SchemaViolation{where, "must have at least " + m->dump() + " characters"};
      if (auto m = schema.find("maxLength"); m != schema.end() && len > m->get<size_t>())
        return SchemaViolation{where, "must have at most " + m->dump() + " characters"};
    }
    if (value.is_array()) return check_array(schema, value, where, path);
    if (value.is_object()) return check_object(schema, value, path);
    return std::nullopt;
  }

 private:
  static std::optional<SchemaViolation> number_bounds(const json& schema, const json& value,
                                                      const std::string& where) {
    const double d = value.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && d < m->get<double>())
      return SchemaViolation{where, "must be at least " + m->dump()};
    if (auto m = schema.find("maximum"); m != schema.end() && d > m->get<double>())
      return SchemaViolation{where, "must be at most " + m->dump()};
    return std::nullopt;
  }

  std::optional<SchemaViolation> check_array(const json& schema, const json& value,
                                             const std::string& where, const std::string& path) {
    if (auto m = schema.find("minItems"); m != schema.end() && value.size() < m->get<size_t>())
      return SchemaViolation{where, "must have at least " + m->dump() + " items"};
    if (auto m = schema.find("maxItems"); m != schema.end() && value.size() > m->get<size_t>())
      return SchemaViolation{where, "must have at most " + m->dump() + " items"};
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i) {
        const std::string item_path =
            (path.empty() ? "input" : path) + "[" + std::to_string(i) + "]";
        if (auto v = check(*items, value[i], item_path)) return v;
      }
    }
    return std::nullopt;
  }

  std::optional<SchemaViolation> check_object(const json& schema, const json& value,
                                              const std::string& path) {
    if (auto req = schema.find("required"); req != schema.end()) {
      for (const auto& name : *req) {
        if (!value.contains(name.get<std::string>()))
          return SchemaViolation{child_path(path, name), "is required"};
      }
    }
    const auto props = schema.find("properties");
    const auto extra = schema.find("additionalProperties");
    for (const auto& [key, child] : value.items()) {
      const std::string field = child_path(path, key);
      if (props != schema.end() && props->contains(key)) {
        if (auto v = check((*props)[key], child, field)) return v;
        continue;
      }
      if (extra == schema.end()) continue;
      if (extra->is_boolean() && !extra->get<bool>())
        return SchemaViolation{field, "is not a known field"};
      if (extra->is_object()) {
        if (auto v = check(*extra, child, field)) return v;
      }
    }
    return std::nullopt;
  }
};

}  // namespace

std::optional<SchemaViolation> validate(const nlohmann::json& schema, const nlohmann::json& value) {
  return Validator().check(schema, value, "");
}

}  // namespace alk::call

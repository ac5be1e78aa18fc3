#include "ops/container_config.h"

#include <cctype>
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

namespace alk::ops {

using call::CallError;
using nlohmann::json;

namespace {

json string_type() {
  return {{"type", "string"}};
}
json boolean_type() {
  return {{"type", "boolean"}};
}
json string_array() {
  return {{"type", "array"}, {"items", string_type()}};
}
json string_map() {
  return {{"type", "object"}, {"additionalProperties", string_type()}};
}
json non_negative_integer() {
  return {{"type", "integer"}, {"minimum", 0}};
}

// The Config fields that are copied as they are: input name → Engine API name.
struct Passthrough {
  const char* input;
  const char* docker;
};
constexpr Passthrough kConfigFields[] = {
    {"image", "Image"},
    {"command", "Cmd"},
    {"entrypoint", "Entrypoint"},
    {"workingDir", "WorkingDir"},
    {"user", "User"},
    {"hostname", "Hostname"},
    {"tty", "Tty"},
    {"openStdin", "OpenStdin"},
    {"stdinOnce", "StdinOnce"},
    {"attachStdin", "AttachStdin"},
    {"attachStdout", "AttachStdout"},
    {"attachStderr", "AttachStderr"},
    {"stopSignal", "StopSignal"},
    {"stopTimeout", "StopTimeout"},
};
constexpr Passthrough kHostFields[] = {
    {"binds", "Binds"},
    {"networkMode", "NetworkMode"},
    {"memory", "Memory"},
    {"privileged", "Privileged"},
    {"capAdd", "CapAdd"},
    {"pidMode", "PidMode"},
    {"ipcMode", "IpcMode"},
    {"utsMode", "UTSMode"},
    {"securityOpt", "SecurityOpt"},
    {"readOnly", "ReadonlyRootfs"},
    {"init", "Init"},
};

CallError forbidden(std::string_view field, std::string_view scope) {
  CallError e =
      CallError::make(call::codes::kForbidden,
                      std::string(field) + ": missing required scope: " + std::string(scope));
  e.details = {{"field", field}, {"scope", scope}};
  return e;
}

bool allowed(const call::Peer& peer, std::string_view scope) {
  return peer.is_operator || peer.has_scope(scope);
}

std::vector<std::string_view> split_colons(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t pos; (pos = s.find(':', start)) != std::string_view::npos; start = pos + 1) {
    parts.push_back(s.substr(start, pos - start));
  }
  parts.push_back(s.substr(start));
  return parts;
}

// A named volume as the daemon accepts it ([a-zA-Z0-9][a-zA-Z0-9_.-]*); every other source, and
// anything with a slash, is a host path.
bool is_volume_name(std::string_view s) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool is_device_permissions(std::string_view s) {
  if (s.empty() || s.size() > 3) return false;
  return s.find_first_not_of("rwm") == std::string_view::npos;
}

// "host[:container][:perms]" as the docker CLI reads it.
Result<json, CallError> parse_device(std::string_view spec, const std::string& field) {
  const auto parts = split_colons(spec);
  std::string_view host = parts[0], container = parts[0], perms = "rwm";
  if (parts.size() == 2) {
    if (is_device_permissions(parts[1])) {
      perms = parts[1];
    } else {
      container = parts[1];
    }
  } else if (parts.size() == 3) {
    container = parts[1];
    perms = parts[2];
    if (!is_device_permissions(perms)) {
      return unexpected(CallError::invalid_input(field, "permissions must be made of r, w, m"));
    }
  } else if (parts.size() > 3) {
    return unexpected(CallError::invalid_input(field, "expected host[:container][:permissions]"));
  }
  if (host.empty() || container.empty()) {
    return unexpected(CallError::invalid_input(field, "expected host[:container][:permissions]"));
  }
  return json{{"PathOnHost", host}, {"PathInContainer", container}, {"CgroupPermissions", perms}};
}

// "host" shares the host's namespace; "container:<id>" joins another container's, which this
// caller might not own: both need the host-namespaces scope.
bool shares_namespace(const json& input, const char* field) {
  auto it = input.find(field);
  if (it == input.end()) return false;
  const auto& mode = it->get_ref<const std::string&>();
  return mode == "host" || mode.rfind("container:", 0) == 0;
}

std::optional<CallError> check_policy(const json& input, const call::Peer& peer) {
  if (input.value("privileged", false) && !allowed(peer, "container:privileged")) {
    return forbidden("privileged", "container:privileged");
  }
  for (const char* field : {"networkMode", "pidMode", "ipcMode", "utsMode"}) {
    if (shares_namespace(input, field) && !allowed(peer, "container:host-namespaces")) {
      return forbidden(field, "container:host-namespaces");
    }
  }
  const std::pair<const char*, const char*> listed[] = {{"devices", "container:devices"},
                                                        {"capAdd", "container:capabilities"},
                                                        {"securityOpt", "container:security-opt"}};
  for (const auto& [field, scope] : listed) {
    auto it = input.find(field);
    if (it != input.end() && !it->empty() && !allowed(peer, scope)) return forbidden(field, scope);
  }
  if (auto binds = input.find("binds"); binds != input.end() && !allowed(peer, "container:bind")) {
    for (size_t i = 0; i < binds->size(); ++i) {
      const auto parts = split_colons((*binds)[i].get_ref<const std::string&>());
      // A lone path is an anonymous volume at that container path.
      if (parts.size() >= 2 && !is_volume_name(parts[0])) {
        return forbidden("binds[" + std::to_string(i) + "]", "container:bind");
      }
    }
  }
  return std::nullopt;
}

Result<json, CallError> build_labels(const json& input, const call::Peer& peer,
                                     const std::string& prefix) {
  const std::string reserved = prefix + ".";
  json labels = json::object();
  if (auto it = input.find("labels"); it != input.end()) {
    for (const auto& [key, value] : it->items()) {
      if (key.rfind(reserved, 0) == 0) {
        return unexpected(CallError::invalid_input(
            "labels." + key, "labels starting with \"" + reserved + "\" are reserved"));
      }
      labels[key] = value;
    }
  }
  labels[prefix + ".managed"] = "true";
  labels[prefix + ".owner"] = peer.id;
  return labels;
}

Result<json, CallError> build_env(const json& env) {
  json out = json::array();
  for (const auto& [key, value] : env.items()) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return unexpected(
          CallError::invalid_input("env." + key, "a name must be non-empty and hold no '='"));
    }
    out.push_back(key + "=" + value.get<std::string>());
  }
  return out;
}

}  // namespace

json create_input_schema() {
  json props = {
      {"image", {{"type", "string"}, {"minLength", 1}}},
      {"command", string_array()},
      {"entrypoint", string_array()},
      {"env", string_map()},
      {"labels", string_map()},
      {"name", {{"type", "string"}, {"minLength", 1}}},
      {"workingDir", string_type()},
      {"user", string_type()},
      {"hostname", string_type()},
      {"tty", boolean_type()},
      {"openStdin", boolean_type()},
      {"stdinOnce", boolean_type()},
      {"attachStdin", boolean_type()},
      {"attachStdout", boolean_type()},
      {"attachStderr", boolean_type()},
      {"stopSignal", string_type()},
      {"stopTimeout", non_negative_integer()},
      {"binds", string_array()},
      {"networkMode", string_type()},
      {"memory", non_negative_integer()},
      {"cpus", {{"type", "number"}, {"minimum", 0}}},
      {"autoRemove", boolean_type()},
      {"privileged", boolean_type()},
      {"capAdd", string_array()},
      {"devices", string_array()},
      {"pidMode", string_type()},
      {"ipcMode", string_type()},
      {"utsMode", string_type()},
      {"securityOpt", string_array()},
      {"readOnly", boolean_type()},
      {"init", boolean_type()},
      {"restartPolicy",
       {{"type", "object"},
        {"properties",
         {{"name",
           {{"type", "string"}, {"enum", {"no", "always", "unless-stopped", "on-failure"}}}},
          {"maximumRetryCount", non_negative_integer()}}},
        {"required", {"name"}},
        {"additionalProperties", false}}},
  };
  return {{"type", "object"},
          {"properties", std::move(props)},
          {"required", {"image"}},
          {"additionalProperties", false}};
}

Result<json, CallError> build_create_body(const json& input, const call::Peer& peer,
                                          const std::string& label_prefix) {
  auto labels = build_labels(input, peer, label_prefix);
  if (!labels) return unexpected(labels.error());
  if (auto refused = check_policy(input, peer)) return unexpected(std::move(*refused));

  json body = json::object();
  for (const auto& f : kConfigFields) {
    if (auto it = input.find(f.input); it != input.end()) body[f.docker] = *it;
  }
  body["Labels"] = std::move(labels).value();
  if (auto it = input.find("env"); it != input.end()) {
    auto env = build_env(*it);
    if (!env) return unexpected(env.error());
    body["Env"] = std::move(env).value();
  }

  json host = json::object();
  for (const auto& f : kHostFields) {
    if (auto it = input.find(f.input); it != input.end()) host[f.docker] = *it;
  }
  if (auto it = input.find("cpus"); it != input.end()) {
    host["NanoCpus"] = static_cast<int64_t>(std::llround(it->get<double>() * 1e9));
  }
  if (auto it = input.find("devices"); it != input.end()) {
    json devices = json::array();
    for (size_t i = 0; i < it->size(); ++i) {
      auto device = parse_device((*it)[i].get_ref<const std::string&>(),
                                 "devices[" + std::to_string(i) + "]");
      if (!device) return unexpected(device.error());
      devices.push_back(std::move(device).value());
    }
    host["Devices"] = std::move(devices);
  }
  if (auto it = input.find("restartPolicy"); it != input.end()) {
    host["RestartPolicy"] = {{"Name", (*it)["name"]},
                             {"MaximumRetryCount", it->value("maximumRetryCount", 0)}};
  }
  // autoRemove belongs to run, which removes the container itself after reading the exit code.
  body["HostConfig"] = std::move(host);
  return body;
}

}  // namespace alk::ops

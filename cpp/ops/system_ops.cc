// docker/system/{ping,version,info,events}.
#include <ctime>
#include <string>

#include "ops/json_lines_op.h"
#include "ops/ownership.h"
#include "ops/register.h"
#include "ops/simple_op.h"
#include "ops/time_input.h"

namespace alk::ops {

using call::CallError;
using call::CallRequest;
using nlohmann::json;

namespace {

const json kNoInput = {
    {"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};

SimpleOp get_op(std::string name, std::string description, std::string path, std::string scope) {
  SimpleOp op;
  op.name = std::move(name);
  op.description = std::move(description);
  op.input_schema = kNoInput;
  op.output_schema = {{"type", "object"}};
  op.scope = std::move(scope);
  op.request = [path = std::move(path)](const CallRequest&) -> Result<docker::Request, CallError> {
    docker::Request req;
    req.path = path;
    return req;
  };
  return op;
}

SimpleOp ping_op(Services& services) {
  SimpleOp op = get_op("docker/system/ping", "Checks that the daemon answers.", "/_ping", "");
  op.output_schema = {
      {"type", "object"},
      {"properties", {{"ok", {{"type", "boolean"}}}, {"apiVersion", {{"type", "string"}}}}},
      {"required", {"ok"}}};
  op.request = [](const CallRequest&) -> Result<docker::Request, CallError> {
    docker::Request req;
    req.path = "/_ping";
    req.unversioned = true;
    return req;
  };
  op.output = [&services](const docker::Response& r,
                          const CallRequest&) -> Result<json, CallError> {
    json out = {{"ok", true}};
    if (const std::string* v = r.header("API-Version")) {
      out["apiVersion"] = *v;
    } else if (!services.docker->api_version().empty()) {
      out["apiVersion"] = services.docker->api_version();
    }
    return out;
  };
  return op;
}

JsonLinesOp events_op(Services& services) {
  JsonLinesOp op;
  op.name = "docker/system/events";
  op.description =
      "The daemon's events, one per call.responded, from since (default now) until until (then "
      "call.completed) or forever. A non-operator peer sees only the events of containers it "
      "owns.";
  op.input_schema = {
      {"type", "object"},
      {"properties",
       {{"since", time_input_schema("events from this time on (default: now)")},
        {"until", time_input_schema("the stream ends at this time")},
        {"type",
         {{"type", "string"},
          {"enum",
           {"container", "image", "volume", "network", "daemon", "plugin", "node", "service",
            "secret", "config"}}}},
        {"filters",
         {{"type", "object"},
          {"additionalProperties", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}},
      {"additionalProperties", false}};
  op.output_schema = {{"type", "object"},
                      {"description", "a docker event: Type, Action, Actor, time, timeNano, …"}};
  op.scope = "system:events";
  op.request = [&services](const CallRequest& r) -> Result<docker::Request, CallError> {
    const json& in = r.input;
    docker::Request req;
    req.path = "/events";
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    for (const char* field : {"since", "until"}) {
      auto it = in.find(field);
      if (it == in.end()) continue;
      auto t = to_docker_time(*it, field, now);
      if (!t) return unexpected(t.error());
      req.add_query(field, std::move(t).value());
    }
    json filters = in.value("filters", json::object());
    if (auto it = in.find("type"); it != in.end()) filters["type"].push_back(*it);
    if (!r.peer.is_operator) add_label_filter(filters, owner_label(services, r.peer));
    if (!filters.empty()) req.add_query("filters", filters.dump());
    return req;
  };
  return op;
}

}  // namespace

void register_system_ops(call::Registry& registry, Services& services) {
  registry.add(make_simple_op(services, ping_op(services)));
  registry.add(make_simple_op(
      services,
      get_op("docker/system/version", "The daemon's version (docker version).", "/version", "")));
  registry.add(make_simple_op(
      services, get_op("docker/system/info", "System-wide information (docker info).", "/info",
                       "system:info")));
  registry.add(make_json_lines_op(services, events_op(services)));
}

}  // namespace alk::ops

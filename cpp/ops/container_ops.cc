// docker/container/{list,inspect,create,start,stop,kill,restart,remove,wait,resize,stats}.
#include <string>
#include <utility>

#include "ops/container_config.h"
#include "ops/container_wait.h"
#include "ops/json_lines_op.h"
#include "ops/ownership.h"
#include "ops/register.h"
#include "ops/simple_op.h"

namespace alk::ops {

using call::CallError;
using call::CallRequest;
using call::OpKind;
using nlohmann::json;

namespace {

// Headroom over a stop/restart grace period for the daemon to answer once the container is down.
constexpr uint64_t kStopAnswerMarginMs = 60000;
// The daemon's own default grace period when none is given.
constexpr int64_t kDefaultStopSeconds = 10;

json object_schema(json properties, json required = json::array()) {
  json schema = {
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

// The input schema of a per-container op: containerId (required) plus `extra`.
json container_input(json extra = json::object(), json required = json::array()) {
  extra["containerId"] = container_id_schema();
  required.push_back("containerId");
  return object_schema(std::move(extra), std::move(required));
}

json filters_schema() {
  return {{"type", "object"},
          {"additionalProperties", {{"type", "array"}, {"items", {{"type", "string"}}}}},
          {"description", "docker filters, e.g. {\"status\": [\"running\"]}"}};
}

const json& ack_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties", {{"ok", {{"type", "boolean"}}}, {"changed", {{"type", "boolean"}}}}}};
  return schema;
}

Result<json, CallError> ack(const docker::Response&, const CallRequest&) {
  return json{{"ok", true}};
}

// start/stop answer 304 when the container already is in the asked state.
Result<json, CallError> ack_changed(const docker::Response& r, const CallRequest&) {
  return json{{"ok", true}, {"changed", r.status != 304}};
}

using QueryFn = std::function<void(const json& input, docker::Request& req)>;

// A per-container action: `method` on /containers/{id}<suffix>, query from `query`.
SimpleOp container_action(std::string name, std::string description, std::string scope,
                          std::string method, std::string suffix, json input_schema,
                          QueryFn query = {}) {
  SimpleOp op;
  op.name = std::move(name);
  op.kind = OpKind::mutation;
  op.description = std::move(description);
  op.input_schema = std::move(input_schema);
  op.output_schema = ack_schema();
  op.scope = std::move(scope);
  op.subject = Subject::container;
  op.output = ack;
  op.request = [method = std::move(method), suffix = std::move(suffix), query = std::move(query)](
                   const CallRequest& r) -> Result<docker::Request, CallError> {
    auto path = container_path(r.input, suffix);
    if (!path) return unexpected(path.error());
    docker::Request req;
    req.method = method;
    req.path = std::move(path).value();
    if (query) query(r.input, req);
    return req;
  };
  return op;
}

const char* flag(bool b) {
  return b ? "1" : "0";
}

// `t` for stop/restart, with the time-to-headers widened by the grace period: the daemon answers
// only once the container is down.
void grace_period(const json& input, docker::Request& req) {
  int64_t seconds = kDefaultStopSeconds;
  if (auto t = input.find("timeout"); t != input.end()) {
    seconds = t->get<int64_t>();
    req.add_query("t", std::to_string(seconds));
  }
  req.headers_timeout_ms = kStopAnswerMarginMs + static_cast<uint64_t>(seconds) * 1000;
}

json timeout_schema() {
  return {{"type", "integer"},
          {"minimum", 0},
          {"description", "seconds to wait after the stop signal before killing"}};
}

SimpleOp list_op(Services& services) {
  SimpleOp op;
  op.name = "docker/container/list";
  op.description =
      "Lists containers (running ones unless all). A non-operator peer, or ownedOnly, sees only "
      "the containers it owns; a non-operator peer cannot filter by since or before (they name "
      "a container).";
  op.input_schema = object_schema({{"all", {{"type", "boolean"}}},
                                   {"limit", {{"type", "integer"}, {"minimum", 1}}},
                                   {"size", {{"type", "boolean"}}},
                                   {"filters", filters_schema()},
                                   {"ownedOnly", {{"type", "boolean"}}}});
  op.output_schema = {{"type", "array"}, {"items", {{"type", "object"}}}};
  op.scope = "container:list";
  op.request = [&services](const CallRequest& r) -> Result<docker::Request, CallError> {
    const json& in = r.input;
    docker::Request req;
    req.path = "/containers/json";
    if (in.value("all", false)) req.add_query("all", "1");
    if (auto it = in.find("limit"); it != in.end()) req.add_query("limit", it->dump());
    if (in.value("size", false)) req.add_query("size", "1");
    json filters = in.value("filters", json::object());
    if (!r.peer.is_operator) {
      // The daemon resolves these to a container before any label filter applies: a peer's
      // list would tell whether another peer's container exists (NOT_FOUND or not), and when
      // it was made.
      for (const char* key : {"since", "before"}) {
        if (filters.contains(key)) {
          CallError e =
              CallError::make(call::codes::kForbidden,
                              std::string("filters.") + key +
                                  ": names a container, which only an operator's list may do");
          e.details = {{"field", std::string("filters.") + key}};
          return unexpected(std::move(e));
        }
      }
    }
    if (in.value("ownedOnly", false) || !r.peer.is_operator) {
      add_label_filter(filters, owner_label(services, r.peer));
    }
    if (!filters.empty()) req.add_query("filters", filters.dump());
    return req;
  };
  return op;
}

SimpleOp inspect_op() {
  SimpleOp op;
  op.name = "docker/container/inspect";
  op.description = "The container's low-level information (docker inspect).";
  op.input_schema = container_input({{"size", {{"type", "boolean"}}}});
  op.output_schema = {{"type", "object"}};
  op.scope = "container:inspect";
  op.subject = Subject::container;
  op.request = [](const CallRequest& r) -> Result<docker::Request, CallError> {
    auto path = container_path(r.input, "/json");
    if (!path) return unexpected(path.error());
    docker::Request req;
    req.path = std::move(path).value();
    if (r.input.value("size", false)) req.add_query("size", "1");
    return req;
  };
  return op;
}

SimpleOp create_op(Services& services) {
  SimpleOp op;
  op.name = "docker/container/create";
  op.kind = OpKind::mutation;
  op.description =
      "Creates a container owned by the caller (labels <prefix>.managed and <prefix>.owner).";
  op.input_schema = create_input_schema();
  // autoRemove is run's: a plain create has nobody to remove the container afterwards.
  op.input_schema["properties"].erase("autoRemove");
  op.output_schema = {{"type", "object"},
                      {"properties",
                       {{"id", {{"type", "string"}}},
                        {"warnings", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
                      {"required", {"id", "warnings"}}};
  op.scope = "container:create";
  op.subject = Subject::image;
  op.request = [&services](const CallRequest& r) -> Result<docker::Request, CallError> {
    auto body = build_create_body(r.input, r.peer, services.label_prefix);
    if (!body) return unexpected(body.error());
    docker::Request req;
    req.method = "POST";
    req.path = "/containers/create";
    if (auto name = r.input.find("name"); name != r.input.end()) {
      req.add_query("name", name->get<std::string>());
    }
    req.body = body.value().dump();
    return req;
  };
  op.output = [](const docker::Response& resp, const CallRequest&) -> Result<json, CallError> {
    auto body = body_as_json(resp);
    if (!body) return body;
    const json& j = body.value();
    if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string()) {
      return unexpected(CallError::internal("docker answered create without an Id"));
    }
    json warnings = j.value("Warnings", json::array());
    if (!warnings.is_array()) warnings = json::array();
    return json{{"id", j["Id"]}, {"warnings", std::move(warnings)}};
  };
  return op;
}

SimpleOp resize_op() {
  auto op = container_action(
      "docker/container/resize", "Sets the size of the container's TTY.", "container:resize",
      "POST", "/resize",
      container_input({{"cols", {{"type", "integer"}, {"minimum", 1}, {"maximum", 65535}}},
                       {"rows", {{"type", "integer"}, {"minimum", 1}, {"maximum", 65535}}}},
                      {"cols", "rows"}),
      [](const json& in, docker::Request& req) {
        req.add_query("h", in["rows"].dump());
        req.add_query("w", in["cols"].dump());
      });
  return op;
}

JsonLinesOp stats_op() {
  JsonLinesOp op;
  op.name = "docker/container/stats";
  op.description =
      "Resource usage: one event per daemon sample (about every second), or one event then "
      "completion with stream: false.";
  op.input_schema = container_input({{"stream", {{"type", "boolean"}}}});
  op.output_schema = {{"type", "object"}};
  op.scope = "container:stats";
  op.subject = Subject::container;
  op.request = [](const CallRequest& r) -> Result<docker::Request, CallError> {
    auto path = container_path(r.input, "/stats");
    if (!path) return unexpected(path.error());
    docker::Request req;
    req.path = std::move(path).value();
    req.add_query("stream", flag(r.input.value("stream", true)));
    return req;
  };
  return op;
}

}  // namespace

void register_container_ops(call::Registry& registry, Services& services) {
  auto add = [&](SimpleOp op, bool per_container) {
    auto spec = make_simple_op(services, std::move(op));
    registry.add(per_container ? gate_on_owner(services, std::move(spec)) : std::move(spec));
  };
  add(list_op(services), false);
  add(create_op(services), false);
  add(inspect_op(), true);

  auto start = container_action("docker/container/start", "Starts the container.",
                                "container:start", "POST", "/start", container_input());
  start.output = ack_changed;
  start.also_ok = {304};
  add(std::move(start), true);

  auto stop = container_action(
      "docker/container/stop",
      "Stops the container: the stop signal, then SIGKILL after timeout seconds.", "container:stop",
      "POST", "/stop", container_input({{"timeout", timeout_schema()}}), grace_period);
  stop.output = ack_changed;
  stop.also_ok = {304};
  add(std::move(stop), true);

  add(container_action("docker/container/restart", "Stops (as stop does) and starts the container.",
                       "container:restart", "POST", "/restart",
                       container_input({{"timeout", timeout_schema()}}), grace_period),
      true);

  add(container_action("docker/container/kill",
                       "Sends a signal (default SIGKILL) to the container's main process.",
                       "container:kill", "POST", "/kill",
                       container_input({{"signal", {{"type", "string"}, {"minLength", 1}}}}),
                       [](const json& in, docker::Request& req) {
                         if (auto s = in.find("signal"); s != in.end()) {
                           req.add_query("signal", s->get<std::string>());
                         }
                       }),
      true);

  add(container_action(
          "docker/container/remove",
          "Removes the container; force kills a running one, volumes removes its anonymous "
          "volumes.",
          "container:remove", "DELETE", "",
          container_input({{"force", {{"type", "boolean"}}}, {"volumes", {{"type", "boolean"}}}}),
          [](const json& in, docker::Request& req) {
            if (in.value("force", false)) req.add_query("force", "1");
            if (in.value("volumes", false)) req.add_query("v", "1");
          }),
      true);

  add(resize_op(), true);
  registry.add(wait_op_spec(services));
  registry.add(gate_on_owner(services, make_json_lines_op(services, stats_op())));
}

}  // namespace alk::ops

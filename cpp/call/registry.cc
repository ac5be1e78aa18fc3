#include "call/registry.h"

#include "call/schema.h"

namespace alk::call {

namespace {

std::string_view strip_slash(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  return name;
}

std::optional<CallError> default_authorizer(const Peer& peer, const OperationSpec& spec) {
  if (peer.is_operator || spec.scope.empty() || peer.has_scope(spec.scope)) return std::nullopt;
  return CallError::make(codes::kForbidden, "missing required scope: " + spec.scope);
}

}  // namespace

const char* describe(OpKind k) {
  switch (k) {
    case OpKind::query:
      return "query";
    case OpKind::mutation:
      return "mutation";
    case OpKind::subscription:
      return "subscription";
  }
  return "query";
}

bool Peer::has_scope(std::string_view scope) const {
  for (const auto& s : scopes) {
    if (s == scope) return true;
  }
  return false;
}

Registry::Registry() : authorizer_(default_authorizer) {}

void Registry::add(OperationSpec spec) {
  std::string name = spec.name;
  ops_.insert_or_assign(std::move(name), std::move(spec));
}

const OperationSpec* Registry::find(std::string_view name) const {
  auto it = ops_.find(strip_slash(name));
  return it == ops_.end() ? nullptr : &it->second;
}

void Registry::set_authorizer(Authorizer authorizer) {
  authorizer_ = std::move(authorizer);
}

Result<std::unique_ptr<Handler>, CallError> Registry::prepare(CallRequest& request,
                                                              CallSink& sink) const {
  const OperationSpec* spec = find(request.operation);
  if (!spec) return unexpected(CallError::operation_not_found(request.operation));
  if (request.carriage == Carriage::raw && !spec->raw_carriage) {
    return unexpected(CallError::make(codes::kInvalidOperationType,
                                      spec->name + " has no raw carriage; call it without "
                                                   "\"carriage\": \"raw\""));
  }
  if (request.carriage == Carriage::json && spec->raw_only) {
    return unexpected(
        CallError::make(codes::kInvalidOperationType, spec->name + " needs \"carriage\": \"raw\""));
  }
  if (auto denied = authorizer_(request.peer, *spec)) return unexpected(std::move(*denied));
  if (auto violation = validate(spec->input_schema, request.input)) {
    return unexpected(CallError::invalid_input(violation->field, violation->problem));
  }
  return spec->factory(request, sink);
}

nlohmann::json Registry::list(const Peer& peer) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, spec] : ops_) {
    if (authorizer_(peer, spec)) continue;
    nlohmann::json entry = {
        {"name", name}, {"type", describe(spec.kind)}, {"description", spec.description}};
    if (spec.raw_carriage) entry["carriage"] = spec.raw_only ? "raw" : "json|raw";
    out.push_back(std::move(entry));
  }
  return out;
}

std::optional<nlohmann::json> Registry::schema(std::string_view name) const {
  const OperationSpec* spec = find(name);
  if (!spec) return std::nullopt;
  return nlohmann::json{{"name", spec->name},
                        {"type", describe(spec->kind)},
                        {"description", spec->description},
                        {"input", spec->input_schema},
                        {"output", spec->output_schema},
                        {"rawCarriage", spec->raw_carriage}};
}

Result<CallRequest, CallError> parse_request(std::string_view id, const nlohmann::json& payload,
                                             const Peer& peer) {
  CallRequest req;
  req.id = id;
  req.peer = peer;
  if (!payload.is_object())
    return unexpected(CallError::invalid_input("payload", "expected object"));
  auto op = payload.find("operationId");
  if (op == payload.end() || !op->is_string()) {
    return unexpected(CallError::invalid_input("operationId", "expected string"));
  }
  req.operation = strip_slash(op->get_ref<const std::string&>());
  auto input = payload.find("input");
  req.input = (input == payload.end() || input->is_null()) ? nlohmann::json::object() : *input;
  if (auto c = payload.find("carriage"); c != payload.end()) {
    if (*c == "raw") {
      req.carriage = Carriage::raw;
    } else if (*c != "json") {
      return unexpected(CallError::invalid_input("carriage", "must be \"json\" or \"raw\""));
    }
  }
  if (auto t = payload.find("auth_token"); t != payload.end() && t->is_string()) {
    req.auth_token = t->get<std::string>();
  }
  return req;
}

namespace {

// Handlers for the two discovery operations: they answer at once from the registry.
class ImmediateHandler : public Handler {
 public:
  ImmediateHandler(CallSink& sink, Result<nlohmann::json, CallError> answer)
      : sink_(sink), answer_(std::move(answer)) {}
  void start() override {
    if (answer_.ok()) {
      sink_.respond(answer_.value());
    } else {
      sink_.fail(answer_.error());
    }
  }

 private:
  CallSink& sink_;
  Result<nlohmann::json, CallError> answer_;
};

}  // namespace

void add_discovery_operations(Registry& registry) {
  OperationSpec list;
  list.name = "services/list";
  list.kind = OpKind::query;
  list.description = "The operations the caller may call.";
  list.input_schema = {{"type", "object"}};
  list.output_schema = {{"type", "array"}};
  list.factory = [&registry](const CallRequest& req, CallSink& sink) {
    return std::make_unique<ImmediateHandler>(sink, registry.list(req.peer));
  };
  registry.add(std::move(list));

  OperationSpec schema;
  schema.name = "services/schema";
  schema.kind = OpKind::query;
  schema.description = "Input and output JSON Schemas of one operation.";
  schema.input_schema = {
      {"type", "object"}, {"required", {"name"}}, {"properties", {{"name", {{"type", "string"}}}}}};
  schema.output_schema = {{"type", "object"}};
  schema.factory = [&registry](const CallRequest& req, CallSink& sink) {
    const std::string name = req.input["name"].get<std::string>();
    auto found = registry.schema(name);
    Result<nlohmann::json, CallError> answer =
        found ? Result<nlohmann::json, CallError>(*found)
              : Result<nlohmann::json, CallError>(unexpected(CallError::operation_not_found(name)));
    return std::make_unique<ImmediateHandler>(sink, std::move(answer));
  };
  registry.add(std::move(schema));
}

}  // namespace alk::call

#include "identity/authorizer.h"

#include "identity/peer_directory.h"

namespace alk::identity {

bool anonymous_may_call(std::string_view operation) {
  return operation == "docker/system/ping" || operation == "services/list" ||
         operation == "services/schema";
}

std::optional<call::CallError> authorize(const call::Peer& peer, const call::OperationSpec& spec) {
  if (peer.is_operator) return std::nullopt;
  if (is_anonymous(peer)) {
    if (anonymous_may_call(spec.name)) return std::nullopt;
    return call::CallError::make(call::codes::kForbidden, "authentication required");
  }
  if (spec.scope.empty() || peer.has_scope(spec.scope)) return std::nullopt;
  return call::CallError::make(call::codes::kForbidden, "missing required scope: " + spec.scope);
}

std::set<std::string> known_scopes(const call::Registry& registry) {
  // The create policy's scopes (ops/container_config.h, build_create_body).
  std::set<std::string> scopes = {"container:privileged",     "container:host-namespaces",
                                  "container:devices",        "container:capabilities",
                                  "container:bind",           "container:security-opt",
                                  std::string(kOperatorScope)};
  for (const auto& [name, spec] : registry.operations()) {
    if (!spec.scope.empty()) scopes.insert(spec.scope);
  }
  return scopes;
}

}  // namespace alk::identity

// The access policy of a served engine: operators may call everything, anonymous callers only the
// discovery operations and ping, every other peer what its scopes name.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "call/registry.h"

namespace alk::identity {

/// Operations an anonymous caller may call: docker/system/ping, services/list, services/schema.
bool anonymous_may_call(std::string_view operation);

/// The call::Authorizer of a server. Denials are FORBIDDEN with alknet's messages:
/// "authentication required" (anonymous caller), "missing required scope: <scope>".
/// An operation without a scope is open to every authenticated peer.
std::optional<call::CallError> authorize(const call::Peer& peer, const call::OperationSpec& spec);

/// The scopes that mean something to this server: every operation's scope in `registry`, the
/// create-policy scopes (container:privileged, container:host-namespaces, container:devices,
/// container:capabilities, container:bind, container:security-opt) and the operator scope.
std::set<std::string> known_scopes(const call::Registry& registry);

}  // namespace alk::identity

// The table of operations and the checks every call passes before its handler runs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "call/operation.h"
#include "util/result.h"

namespace alk::call {

/// Decides whether `peer` may call `spec` (identity/ACL layer). Returns a FORBIDDEN CallError to
/// refuse. The default allows operators everything and others only what their scopes name.
using Authorizer =
    std::function<std::optional<CallError>(const Peer& peer, const OperationSpec& spec)>;

class Registry {
 public:
  Registry();

  /// Adds `spec`; a later add with the same name replaces it.
  void add(OperationSpec spec);

  /// The spec named `name` (leading slash accepted), or nullptr.
  const OperationSpec* find(std::string_view name) const;

  /// Replaces the access check used by prepare() and list().
  void set_authorizer(Authorizer authorizer);

  /// Runs the checks of a call.requested, in order: operation exists (NOT_FOUND), carriage fits
  /// the operation (INVALID_OPERATION_TYPE), the peer may call it (FORBIDDEN), the input matches
  /// the schema (INVALID_INPUT naming the field). On success returns the handler, not yet started.
  Result<std::unique_ptr<Handler>, CallError> prepare(CallRequest& request, CallSink& sink) const;

  /// services/list output: the operations `peer` may call, with kind and description.
  nlohmann::json list(const Peer& peer) const;
  /// services/schema output for `name`, or nullopt if there is no such operation.
  std::optional<nlohmann::json> schema(std::string_view name) const;

  const std::map<std::string, OperationSpec, std::less<>>& operations() const { return ops_; }

 private:
  std::map<std::string, OperationSpec, std::less<>> ops_;
  Authorizer authorizer_;
};

/// Parses a call.requested payload ({"operationId", "input"?, "carriage"?, "auth_token"?}) into a
/// request for `peer`. Missing input becomes {}. A bad carriage is INVALID_INPUT.
Result<CallRequest, CallError> parse_request(std::string_view id, const nlohmann::json& payload,
                                             const Peer& peer);

/// Adds services/list and services/schema, answering from `registry` itself.
void add_discovery_operations(Registry& registry);

}  // namespace alk::call

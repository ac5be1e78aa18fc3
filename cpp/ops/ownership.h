// Who may touch which container: the `<prefix>.owner` label the bridge stamps at create, checked
// before every per-container operation of a non-operator peer, and the label filter that limits
// what such a peer lists or watches.
//
// Two ways to use it:
//  - gate_on_owner(services, spec) wraps a per-container operation (input `containerId`): operators
//    go straight to the wrapped handler; other peers first get an inspect, and the wrapped handler
//    runs only if they own the container, with `containerId` pinned to the inspected full id (so a
//    name cannot be re-pointed at another container between the check and the operation).
//  - check_container_owner(...) is the asynchronous check itself, for handlers that want the
//    inspect anyway (logs and attach decide TTY vs multiplexed from it; exec and run need it too):
//    one GET /containers/{id}/json serves both the access check and the handler.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "call/operation.h"
#include "docker/client.h"
#include "ops/services.h"
#include "util/result.h"

namespace alk::ops {

/// JSON Schema of a `containerId` property (an id, an id prefix or a name).
nlohmann::json container_id_schema();

/// The Engine API path "/containers/<id><suffix>" for the `containerId` of `input`, e.g.
/// container_path(input, "/json"). The id must look like a container id or name (optional
/// leading '/', then [A-Za-z0-9_.-]): anything else, a '/' or ".." that could steer the request
/// to another endpoint included, is INVALID_INPUT naming `containerId`.
Result<std::string, call::CallError> container_path(const nlohmann::json& input,
                                                    std::string_view suffix = {});

/// The label `<prefix>.owner=<peer id>` that marks what `peer` owns.
std::string owner_label(const Services& services, const call::Peer& peer);

/// True when `inspect` (GET /containers/{id}/json) shows a container `peer` may touch: operators
/// may touch every container, other peers only those labelled owner_label(peer).
bool may_touch(const Services& services, const call::Peer& peer, const nlohmann::json& inspect);

/// FORBIDDEN "not owner of resource: container/<container_id>", naming the id as the caller gave
/// it and nothing else about the container.
call::CallError not_owner_error(std::string_view container_id);

/// Adds `label` to the `label` entry of a docker filters object ({"label": [...], ...}), creating
/// it as needed. Docker ANDs label filters, so the caller's own label filters still apply.
void add_label_filter(nlohmann::json& filters, const std::string& label);

/// The result of the check: the container's inspect JSON — only what the check and the handlers
/// use: Id, Config.{Tty, OpenStdin, StdinOnce, Labels}, State.{Status, Running} —, or the error to
/// answer with.
using OwnerCheckDone = std::function<void(Result<nlohmann::json, call::CallError>)>;

/// Inspects `container_id` and calls `done` with the inspect JSON when `peer` may touch the
/// container (operators: any container), else with FORBIDDEN (not_owner_error), or with the
/// inspect's own failure (CONTAINER_NOT_FOUND, DOCKER_UNAVAILABLE, …). A non-operator gets
/// FORBIDDEN for a missing container too (any 4xx of the inspect): no existence oracle. Validate
/// `container_id` with container_path() first to answer a malformed one with INVALID_INPUT
/// (unvalidated, it gets CONTAINER_NOT_FOUND, or FORBIDDEN for a non-operator). `done` runs
/// exactly once, from a docker callback (never synchronously), unless the returned handle is
/// destroyed first; destroying it from inside `done` is allowed. Loop-thread only.
[[nodiscard]] std::unique_ptr<docker::RequestHandle> check_container_owner(Services& services,
                                                                           const call::Peer& peer,
                                                                           std::string container_id,
                                                                           OwnerCheckDone done);

/// Wraps the per-container operation `spec` (its input has `containerId`) with the ownership
/// check, as described at the top of this file. The wrapper forwards on_writable, stdin and
/// control input and cancel() to the wrapped handler; input that arrives while the check is
/// still running is replayed to it once it starts.
call::OperationSpec gate_on_owner(Services& services, call::OperationSpec spec);

}  // namespace alk::ops

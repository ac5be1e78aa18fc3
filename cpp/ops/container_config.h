// The create input of `create` and `run` (camelCase) as the Engine API's container config, with
// the ownership labels stamped and the create policy applied.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "call/call_error.h"
#include "call/operation.h"
#include "util/result.h"

namespace alk::ops {

/// JSON Schema of the create input: image (required), command, entrypoint, env {"K":"V"}, labels,
/// name, workingDir, user, tty, openStdin, stdinOnce, attachStdin, binds, networkMode, memory,
/// cpus, autoRemove (for run), privileged, capAdd, devices, pidMode, ipcMode, utsMode,
/// securityOpt, readOnly, init, restartPolicy, stopSignal, stopTimeout (additionalProperties
/// false: a misspelt field is INVALID_INPUT). `name` goes in the create query, not in the body;
/// `autoRemove` is run's (which removes the container itself once it has the exit code) and is
/// never mapped to HostConfig.AutoRemove.
nlohmann::json create_input_schema();

/// The body of POST /containers/create for a validated `input`, called by `peer`: labels get
/// `<prefix>.managed=true` and `<prefix>.owner=<peer id>`; a caller-set `<prefix>.*` label is
/// refused with INVALID_INPUT; options the peer's scopes do not allow are FORBIDDEN naming the
/// field ("privileged: missing required scope: container:privileged"). Operators pass every check.
/// Scopes: privileged → container:privileged; networkMode/pidMode/ipcMode/utsMode "host" or
/// "container:<id>" → container:host-namespaces; devices → container:devices; capAdd →
/// container:capabilities; a bind whose source is a host path → container:bind (named volumes
/// pass); securityOpt → container:security-opt.
Result<nlohmann::json, call::CallError> build_create_body(const nlohmann::json& input,
                                                          const call::Peer& peer,
                                                          const std::string& label_prefix);

}  // namespace alk::ops

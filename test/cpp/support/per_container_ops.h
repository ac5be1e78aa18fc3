// Every per-container operation with an input that is valid for a running `sleep` container: what
// ownership tests call on another peer's container to prove each one is refused.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "call/operation.h"

namespace alk::test {

struct PerContainerOp {
  const char* name;      ///< "docker/container/inspect", …
  nlohmann::json extra;  ///< input fields besides containerId
  call::Carriage carriage = call::Carriage::json;
};

/// inspect, start, stop, kill, restart, remove, wait, logs, stats, resize, exec, attach.
const std::vector<PerContainerOp>& per_container_ops();

}  // namespace alk::test

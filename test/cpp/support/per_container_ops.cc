#include "support/per_container_ops.h"

namespace alk::test {

const std::vector<PerContainerOp>& per_container_ops() {
  using nlohmann::json;
  static const std::vector<PerContainerOp> ops = {
      {"docker/container/inspect", json::object()},
      {"docker/container/start", json::object()},
      {"docker/container/stop", json::object()},
      {"docker/container/kill", json::object()},
      {"docker/container/restart", json::object()},
      {"docker/container/remove", {{"force", true}}},
      {"docker/container/wait", json::object()},
      {"docker/container/logs", json::object()},
      {"docker/container/stats", {{"stream", false}}},
      {"docker/container/resize", {{"cols", 80}, {"rows", 24}}},
      {"docker/container/exec", {{"command", {"true"}}}},
      {"docker/container/attach", json::object(), call::Carriage::raw},
  };
  return ops;
}

}  // namespace alk::test

#include "ops/container_config.h"

namespace alk::ops {

// Placeholder until the create translation lands.
nlohmann::json create_input_schema() { return {{"type", "object"}, {"required", {"image"}}}; }

Result<nlohmann::json, call::CallError> build_create_body(const nlohmann::json& input,
                                                          const call::Peer& peer,
                                                          const std::string& label_prefix) {
  return unexpected(call::CallError::internal("container create is not available yet"));
}

}  // namespace alk::ops

#include "ops/register.h"

namespace alk::ops {

void register_all(call::Registry& registry, Services& services) {
  call::add_discovery_operations(registry);
  register_system_ops(registry, services);
  register_container_ops(registry, services);
  register_logs_op(registry, services);
  register_exec_op(registry, services);
  register_attach_op(registry, services);
  register_run_op(registry, services);
  register_image_ops(registry, services);
}

}  // namespace alk::ops

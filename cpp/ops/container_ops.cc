#include "ops/register.h"

namespace alk::ops {

// Placeholder until this family's operations land; registers nothing.
void register_container_ops(call::Registry& registry, Services& services) {}

}  // namespace alk::ops

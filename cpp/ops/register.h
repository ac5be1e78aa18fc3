// Registration of the docker operations, one function per family (each in its own file).
#pragma once

#include "call/registry.h"
#include "ops/services.h"

namespace alk::ops {

/// docker/system/{ping,version,info,events} — ops/system_ops.cc
void register_system_ops(call::Registry& registry, Services& services);
/// docker/container/{list,inspect,create,start,stop,kill,restart,remove,wait,resize,stats}
/// — ops/container_ops.cc, ops/stats_op.cc
void register_container_ops(call::Registry& registry, Services& services);
/// docker/container/logs — ops/logs_op.cc
void register_logs_op(call::Registry& registry, Services& services);
/// docker/container/exec — ops/exec_op.cc
void register_exec_op(call::Registry& registry, Services& services);
/// docker/container/attach — ops/attach_op.cc
void register_attach_op(call::Registry& registry, Services& services);
/// docker/container/run — ops/run_op.cc
void register_run_op(call::Registry& registry, Services& services);
/// docker/image/{list,inspect,pull,remove} — ops/image_ops.cc, ops/pull_op.cc
void register_image_ops(call::Registry& registry, Services& services);

/// Every operation above plus services/list and services/schema.
void register_all(call::Registry& registry, Services& services);

}  // namespace alk::ops

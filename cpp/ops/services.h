// What every docker operation handler may use: the loop, the Docker client, the deferrer and the
// background requests that outlive a call (cleanup after a cancelled run).
#pragma once

#include <uv.h>

#include <string>

#include "docker/client.h"
#include "ops/background.h"
#include "util/deferrer.h"

namespace alk::ops {

/// Owned by the Engine; every pointer outlives all handlers.
struct Services {
  uv_loop_t* loop = nullptr;
  docker::Client* docker = nullptr;
  Deferrer* deferrer = nullptr;
  Background* background = nullptr;
  /// Prefix of the ownership labels (`<prefix>.managed`, `<prefix>.owner`).
  std::string label_prefix = "alknet";
};

}  // namespace alk::ops

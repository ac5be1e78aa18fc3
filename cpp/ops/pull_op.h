// docker/image/pull: POST /images/create streamed as progress events; an error inside the 200
// stream becomes call.error.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "call/call_error.h"
#include "call/operation.h"
#include "ops/services.h"

namespace alk::ops {

/// The pull subscription: input {image, tag?, platform?, auth?}; events {"status", "id"?,
/// "progress"?, "progressDetail"?}; call.completed when the daemon ends the stream without an
/// error line.
call::OperationSpec pull_op_spec(Services& services);

/// The call error for an error line of a pull stream ({"error": …, "errorDetail": {"message"}}):
/// IMAGE_NOT_FOUND when the registry says the image or its manifest does not exist, else
/// DOCKER_ERROR; details carry the daemon's errorDetail.
call::CallError pull_stream_error(const nlohmann::json& line);

}  // namespace alk::ops

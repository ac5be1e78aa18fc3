#include "support/call_outcome.h"

namespace alk::test {

client::CallEvents record_into(CallOutcome& out) {
  client::CallEvents events;
  events.on_output = [&out](const nlohmann::json& o) { out.outputs.push_back(o); };
  events.on_end = [&out](std::optional<call::CallError> e) {
    out.error = std::move(e);
    out.ended = true;
  };
  return events;
}

}  // namespace alk::test

// What one call made through a client::CallClient produced, and the events that record it: for
// tests that make calls over a real transport and look at the answers afterwards.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "call/operation.h"
#include "client/call_client.h"

namespace alk::test {

/// The outputs and the end of one call, filled in by the events of record_into().
struct CallOutcome {
  std::vector<nlohmann::json> outputs;   ///< every output, in order
  std::optional<call::CallError> error;  ///< the terminal error; empty when the call ended well
  bool ended = false;                    ///< set once on_end ran

  /// The error's code, or "(ok)".
  std::string code() const { return error ? error->code : "(ok)"; }
  /// The error's message, or "".
  std::string message() const { return error ? error->message : ""; }
  /// "CODE: message", or "(ok)".
  std::string describe() const { return error ? error->code + ": " + error->message : "(ok)"; }
};

/// Events that append each output to `out` and record the end (error and `ended`). They keep a
/// reference: `out` must outlive the call they are given to.
client::CallEvents record_into(CallOutcome& out);

}  // namespace alk::test

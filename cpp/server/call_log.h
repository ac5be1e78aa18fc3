// One log line per finished call: time, peer, transport, operation, outcome, duration.
#pragma once

#include "call/session.h"

namespace alk::server {

/// Writes `record` as one line to stderr.
void log_call(const call::CallRecord& record);

/// Writes a server event ("listening on …", "shutting down") as one line to stderr.
void log_event(const std::string& message);

}  // namespace alk::server

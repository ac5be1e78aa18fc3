// The server's log on stderr: a line per finished call (the audit line), a line per QUIC
// connection event, and free-form server events, each stamped with the UTC time.
#pragma once

#include <string>

#include "call/session.h"
#include "transport/quic/quic_server.h"

namespace alk::server {

/// The audit line of a finished call, without the time stamp and the newline:
/// `call peer=… via=… op=… [resource=…] id=… outcome=… duration_ms=… [detail=…]`. Every field is
/// one word: text from the caller or its peer (operation, ids, the detail) has its control
/// characters, backslashes and spaces written as \xNN, except the spaces of `detail`, which is
/// last.
std::string format_call_line(const call::CallRecord& record);

/// The line of a QUIC connection event, the same way: `quic connection open|closed|refused
/// listener=… peer=… addr=…`, and for closed and refused `calls=… duration_ms=… outcome=…
/// [detail=…]` (the detail can hold the peer's own close reason, escaped as above).
std::string format_connection_line(const std::string& listener,
                                   const transport::quic::ConnectionRecord& record);

/// Writes format_call_line(record) as one time-stamped line to stderr.
void log_call(const call::CallRecord& record);

/// Writes format_connection_line(listener, record) as one time-stamped line to stderr.
void log_connection(const std::string& listener, const transport::quic::ConnectionRecord& record);

/// Writes a server event ("listening on …", "shutting down") as one time-stamped line to stderr.
void log_event(const std::string& message);

}  // namespace alk::server

// Status reports to the service manager that started this process, over systemd's notify
// protocol (sd_notify(3)): one datagram per report to the unix socket named by $NOTIFY_SOCKET.
// No libsystemd: the protocol is a single sendto.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace alk::util {

/// Sends `state` — newline-separated assignments such as "READY=1", "STOPPING=1",
/// "STATUS=listening on …" — to $NOTIFY_SOCKET ("/path", or "@name" for the abstract namespace).
/// Returns nothing when it was sent, or when $NOTIFY_SOCKET is unset (no manager is waiting);
/// otherwise why it could not be sent, for the caller to log: a lost report never stops a
/// server. One sendto on a socket opened and closed here; it blocks for at most a second when
/// the manager's queue is full. Callable from any thread.
std::optional<std::string> notify_service_manager(std::string_view state);

/// How often the manager wants "WATCHDOG=1" — half its $WATCHDOG_USEC, the margin sd_notify(3)
/// recommends — in milliseconds; 0 when no watchdog is set for this process ($WATCHDOG_PID, when
/// present, must be ours) or the value is not a positive number.
uint64_t service_watchdog_interval_ms();

/// "MONOTONIC_USEC=<CLOCK_MONOTONIC now in µs>", which a "RELOADING=1" report must carry for
/// systemd 253+ (older versions ignore it).
std::string monotonic_usec_assignment();

}  // namespace alk::util

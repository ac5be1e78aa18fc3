// serve's reports to a service manager (systemd Type=notify): readiness, reloads, shutdown,
// watchdog pings. Outside a manager ($NOTIFY_SOCKET unset) every report is a no-op.
#pragma once

#include <string>

namespace alk::server {

/// Sends `state` (util::notify_service_manager). A report the manager cannot take is logged —
/// the first one only, since a bad $NOTIFY_SOCKET would fail every watchdog period — and is never
/// fatal. Loop thread only.
void report_to_service_manager(const std::string& state);

}  // namespace alk::server

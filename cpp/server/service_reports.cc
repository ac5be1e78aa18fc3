#include "server/service_reports.h"

#include "server/server_log.h"
#include "util/service_notify.h"

namespace alk::server {

void report_to_service_manager(const std::string& state) {
  static bool warned = false;
  auto failed = util::notify_service_manager(state);
  if (!failed || warned) return;
  warned = true;
  log_event("warning: service manager report failed (further failures are not logged): " + *failed);
}

}  // namespace alk::server

#include "server/server_identity.h"

#include <pthread.h>

#include <csignal>

#include "identity/authorizer.h"
#include "identity/session_identity.h"
#include "server/server_log.h"
#include "server/service_reports.h"
#include "util/service_notify.h"

namespace alk::server {

namespace {

identity::PeersParseOptions parse_options(ops::Engine& engine) {
  identity::PeersParseOptions options;
  options.known_scopes = identity::known_scopes(engine.registry());
  return options;
}

std::string describe(const identity::PeerDirectory& d, size_t n) {
  return std::to_string(n) + (n == 1 ? " peer" : " peers") + ", label prefix \"" +
         d.label_prefix() + "\"";
}

}  // namespace

ServerIdentity::ServerIdentity(ops::Engine& engine, std::string peers_file)
    : engine_(engine), peers_file_(std::move(peers_file)) {}

ServerIdentity::~ServerIdentity() {
  close();
}

Result<std::unique_ptr<ServerIdentity>, std::string> ServerIdentity::create(
    ops::Engine& engine, const std::string& peers_file, const std::string& label_prefix_flag) {
  std::unique_ptr<ServerIdentity> self(new ServerIdentity(engine, peers_file));
  engine.registry().set_authorizer(identity::authorize);
  if (peers_file.empty()) {
    self->watch_sighup();
    return self;
  }

  auto loaded = identity::load_peers_file(peers_file, parse_options(engine));
  if (!loaded) return unexpected(std::move(loaded).error());
  identity::PeersConfig& config = loaded.value();
  if (config.label_prefix_set) {
    if (label_prefix_flag != "alknet" && label_prefix_flag != config.label_prefix) {
      return unexpected(peers_file + ": labelPrefix \"" + config.label_prefix +
                        "\" disagrees with --label-prefix " + label_prefix_flag);
    }
    engine.services().label_prefix = config.label_prefix;
  } else {
    config.label_prefix = engine.services().label_prefix;
  }
  const size_t n = config.peers.size();
  self->directory_ = std::make_unique<identity::PeerDirectory>(std::move(config));
  log_event("peers from " + peers_file + ": " + describe(*self->directory_, n) +
            " (SIGHUP reloads)");
  self->watch_sighup();  // last: an error return above leaves no handle to close
  return self;
}

void ServerIdentity::watch_sighup() {
  // Always watched, even with nothing to reload: a SIGHUP (systemctl reload, a closed terminal)
  // must not end the server by default action.
  sighup_ = new uv_signal_t;
  uv_signal_init(engine_.loop(), sighup_);
  sighup_->data = this;
  uv_signal_start(
      sighup_, [](uv_signal_t* s, int) { static_cast<ServerIdentity*>(s->data)->reload(); },
      SIGHUP);
  uv_unref(reinterpret_cast<uv_handle_t*>(sighup_));  // never keeps the loop alive
}

void ServerIdentity::reload() {
  // RELOADING=1 … READY=1 brackets the reload for a manager that tracks it (systemd 253+
  // Type=notify-reload, or a SIGHUP sent directly); with Type=notify and ExecReload=kill, as the
  // shipped unit on systemd 252, the reload job ends when kill exits and these are only status.
  report_to_service_manager("RELOADING=1\n" + util::monotonic_usec_assignment());
  if (!directory_) {
    log_event("SIGHUP: nothing to reload (no --peers file)");
    report_to_service_manager("READY=1");
    return;
  }
  auto reloaded = directory_->reload(peers_file_, parse_options(engine_));
  report_to_service_manager("READY=1");
  if (!reloaded) {
    log_event("SIGHUP: keeping the previous peers: " + reloaded.error());
    return;
  }
  log_event("SIGHUP: reloaded peers from " + peers_file_ + ": " +
            describe(*directory_, reloaded.value()));
}

void ServerIdentity::configure_unix(call::SessionEnv& env) const {
  identity::configure_unix_session(env, directory_.get());
}

void ServerIdentity::configure_quic(call::SessionEnv& env, const std::string& fingerprint) const {
  identity::configure_quic_session(env, directory_.get(), fingerprint);
}

void ServerIdentity::close() {
  if (!sighup_) return;
  // libuv puts SIGHUP back to its default action (end the process) as the last handle for it
  // closes. Held back meanwhile and ignored from then on, one arriving while the server winds
  // down is dropped instead.
  sigset_t hup, before;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, &before);
  uv_close(reinterpret_cast<uv_handle_t*>(sighup_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
  sighup_ = nullptr;
  std::signal(SIGHUP, SIG_IGN);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

}  // namespace alk::server

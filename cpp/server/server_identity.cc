#include "server/server_identity.h"

#include <csignal>

#include "identity/authorizer.h"
#include "identity/session_identity.h"
#include "server/call_log.h"

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
  if (peers_file.empty()) return self;

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

  self->sighup_ = new uv_signal_t;
  uv_signal_init(engine.loop(), self->sighup_);
  self->sighup_->data = self.get();
  uv_signal_start(
      self->sighup_, [](uv_signal_t* s, int) { static_cast<ServerIdentity*>(s->data)->reload(); },
      SIGHUP);
  uv_unref(reinterpret_cast<uv_handle_t*>(self->sighup_));  // never keeps the loop alive
  return self;
}

void ServerIdentity::reload() {
  auto reloaded = directory_->reload(peers_file_, parse_options(engine_));
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
  uv_close(reinterpret_cast<uv_handle_t*>(sighup_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
  sighup_ = nullptr;
}

}  // namespace alk::server

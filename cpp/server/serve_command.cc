#include "server/serve_command.h"

#include <uv.h>

#include <csignal>
#include <memory>

#include "call/session.h"
#include "client/call_client.h"
#include "docker/endpoint.h"
#include "ops/engine.h"
#include "server/serve_config.h"
#include "server/server_identity.h"
#include "server/server_log.h"
#include "server/service_reports.h"
#include "transport/quic/quic_server.h"
#include "transport/unix_listener.h"
#include "util/service_notify.h"

namespace alk::server {

namespace {

// Everything the running server owns; lives on run_serve's stack until the loop ends.
struct Server {
  uv_loop_t* loop = nullptr;
  std::unique_ptr<ops::Engine> engine;
  std::unique_ptr<ServerIdentity> identity;  // peers file, access policy, SIGHUP reload
  std::vector<std::unique_ptr<transport::UnixListener>> listeners;
  std::vector<std::unique_ptr<transport::quic::QuicServer>> quic_servers;
  uv_signal_t sigint{}, sigterm{};
  uv_timer_t grace{};
  uv_timer_t watchdog{};  // "WATCHDOG=1" to the service manager, when it asks for them
  double grace_s = 10;
  bool quiet = false;
  bool stopping = false;
  size_t listeners_open = 0;

  void begin_shutdown(int signum);
  void start_watchdog();
  int abandon_start(int exit_code);
  void drop_calls();
  void close_all();
};

void Server::begin_shutdown(int signum) {
  if (stopping) {
    drop_calls();  // a second signal: stop waiting
    return;
  }
  stopping = true;
  log_event(std::string("received ") + (signum == SIGINT ? "SIGINT" : "SIGTERM") +
            ": not accepting new calls, draining");
  report_to_service_manager("STOPPING=1\nSTATUS=draining: not accepting new calls");
  // Stop accepting; in-flight calls continue until they finish or the grace period ends. Each
  // listener's close callback runs once its last connection is released.
  for (auto& l : listeners) {
    l->close(/*drop=*/false, [this] {
      if (--listeners_open == 0) close_all();
    });
  }
  // QUIC: new connections and streams are refused; each connection closes (CONNECTION_CLOSE)
  // once its last call ended.
  for (auto& q : quic_servers) {
    q->close(/*drop=*/false, [this] {
      if (--listeners_open == 0) close_all();
    });
  }
  grace.data = this;
  uv_timer_start(
      &grace, [](uv_timer_t* t) { static_cast<Server*>(t->data)->drop_calls(); },
      static_cast<uint64_t>(grace_s * 1000), 0);
}

void Server::start_watchdog() {
  uv_timer_init(loop, &watchdog);
  const uint64_t interval_ms = util::service_watchdog_interval_ms();
  if (interval_ms == 0) return;
  log_event("service manager watchdog: WATCHDOG=1 every " + std::to_string(interval_ms) + " ms");
  // Sent from the loop itself: a loop that stops turning stops the pings, and the manager
  // restarts the server.
  uv_timer_start(
      &watchdog, [](uv_timer_t*) { report_to_service_manager("WATCHDOG=1"); }, interval_ms,
      interval_ms);
  uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog));  // never keeps the loop alive
}

// A start that failed once handles existed: close them and let their close callbacks run, so that
// none is freed outside one. The manager got no READY=1, and the exit code tells it why.
int Server::abandon_start(int exit_code) {
  for (auto& l : listeners) l->close(/*drop=*/true, [] {});
  for (auto& q : quic_servers) q->close(/*drop=*/true, [] {});
  if (identity) identity->close();
  engine->close([] {});
  uv_run(loop, UV_RUN_DEFAULT);
  listeners.clear();
  quic_servers.clear();
  engine.reset();
  uv_loop_close(loop);
  return exit_code;
}

void Server::drop_calls() {
  for (auto& l : listeners) {
    if (l->connections() == 0) continue;
    log_event("grace period over: resetting " + std::to_string(l->connections()) + " calls");
    l->drop_connections();
  }
  for (auto& q : quic_servers) {
    if (q->calls() == 0) continue;
    log_event("grace period over: resetting " + std::to_string(q->calls()) + " calls on " +
              q->describe());
    q->drop_connections();
  }
}

void Server::close_all() {
  uv_close(reinterpret_cast<uv_handle_t*>(&grace), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm), nullptr);
  if (identity) identity->close();
  engine->close([] {});
}

}  // namespace

int run_serve(const ServeOptions& options) {
  auto valid = validate_serve_options(options);
  if (!valid) {
    log_event("error: " + valid.error());
    return 2;
  }
  auto endpoint = options.docker_host.empty() ? docker::endpoint_from_env()
                                              : docker::parse_docker_host(options.docker_host);
  if (!endpoint) {
    log_event("error: " + endpoint.error());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  // Until ServerIdentity watches it: a SIGHUP (a reload, a closed terminal) never ends serve.
  std::signal(SIGHUP, SIG_IGN);
  Server server;
  server.loop = uv_default_loop();
  server.grace_s = options.shutdown_grace_s;
  server.quiet = options.quiet;
  ops::EngineOptions engine_options;
  engine_options.endpoint = endpoint.value();
  engine_options.label_prefix = options.label_prefix;
  server.engine = std::make_unique<ops::Engine>(server.loop, engine_options);
  auto identity = ServerIdentity::create(*server.engine, options.peers_file, options.label_prefix);
  if (!identity) {
    log_event("error: " + identity.error());
    return server.abandon_start(2);
  }
  server.identity = std::move(identity).value();

  std::string listening;  // "unix:///run/alknet.sock, quic://0.0.0.0:4433": the READY status
  for (const auto& address : options.listen) {
    auto parsed = client::parse_address(address);
    if (!parsed) {
      log_event("error: " + parsed.error());
      return server.abandon_start(2);
    }
    if (parsed->kind == client::Address::Kind::quic) {
      transport::quic::QuicServerConfig config;
      config.host = parsed->host;
      config.port = parsed->port;
      config.tls.cert_file = options.cert;
      config.tls.key_file = options.key;
      config.tls.client_ca_file = options.client_ca;
      config.tls.require_client_cert = !options.client_cert_optional;
      config.quic.idle_timeout_ms = options.idle_timeout_ms;
      config.quic.keep_alive_ms = options.keep_alive_ms;
      config.quic.max_streams_bidi = options.max_streams;
      // Every authenticated peer is an operator until a peers file maps identities to scopes; a
      // client without a certificate (clientAuth "optional") gets no scope at all.
      auto factory = [&server](transport::ByteStream& stream, const std::string& peer_id) {
        call::SessionEnv env;
        env.registry = &server.engine->registry();
        env.deferrer = &server.engine->deferrer();
        env.peer.id = peer_id.empty() ? "anonymous" : peer_id;
        env.peer.is_operator = !peer_id.empty();
        server.identity->configure_quic(env, peer_id);  // with --peers: the mapped peer
        if (!server.quiet) env.on_call_end = log_call;
        return std::make_unique<call::CallSession>(stream, std::move(env));
      };
      auto quic = std::make_unique<transport::quic::QuicServer>(server.loop, config, factory);
      auto ok = quic->listen();
      if (!ok) {
        log_event("error: " + ok.error());
        return server.abandon_start(1);
      }
      const std::string name = quic->describe();
      quic->set_connection_log(
          [name](const transport::quic::ConnectionRecord& r) { log_connection(name, r); });
      log_event("listening on " + name + ", docker at " + endpoint->describe());
      listening += (listening.empty() ? "" : ", ") + name;
      server.quic_servers.push_back(std::move(quic));
      continue;
    }
    auto factory = [&server](transport::ByteStream& stream) {
      call::SessionEnv env;
      env.registry = &server.engine->registry();
      env.deferrer = &server.engine->deferrer();
      server.identity->configure_unix(env);
      if (!server.quiet) env.on_call_end = log_call;
      return std::make_unique<call::CallSession>(stream, std::move(env));
    };
    auto listener = std::make_unique<transport::UnixListener>(server.loop, parsed->path, factory);
    auto ok = listener->listen();
    if (!ok) {
      log_event("error: " + ok.error());
      return server.abandon_start(1);
    }
    log_event("listening on " + parsed->describe() + ", docker at " + endpoint->describe());
    listening += (listening.empty() ? "" : ", ") + parsed->describe();
    server.listeners.push_back(std::move(listener));
  }
  server.listeners_open = server.listeners.size() + server.quic_servers.size();

  uv_timer_init(server.loop, &server.grace);
  uv_signal_init(server.loop, &server.sigint);
  uv_signal_init(server.loop, &server.sigterm);
  server.sigint.data = server.sigterm.data = &server;
  auto on_signal = [](uv_signal_t* s, int signum) {
    static_cast<Server*>(s->data)->begin_shutdown(signum);
  };
  uv_signal_start(&server.sigint, on_signal, SIGINT);
  uv_signal_start(&server.sigterm, on_signal, SIGTERM);
  server.start_watchdog();
  // Every listener is bound: a manager waiting on us (systemd Type=notify) may start dependants.
  report_to_service_manager("READY=1\nSTATUS=listening on " + listening);

  uv_run(server.loop, UV_RUN_DEFAULT);
  server.listeners.clear();
  server.quic_servers.clear();
  server.engine.reset();
  uv_loop_close(server.loop);
  log_event("stopped");
  return 0;
}

}  // namespace alk::server

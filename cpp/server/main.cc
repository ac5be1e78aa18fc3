// alknet-docker: the server (`serve`) and the command-line client (`call`).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "server/call_command.h"
#include "server/serve_command.h"
#include "server/serve_config.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"alknet-docker: Docker operations over the alknet call protocol"};
  app.require_subcommand(1);

  alk::server::ServeOptions serve;
  std::string serve_config;
  std::string client_auth = "require";
  auto* serve_cmd = app.add_subcommand("serve", "Serve the docker operations to callers");
  serve_cmd->add_option(
      "--config", serve_config,
      "JSON file with the same settings (listen, cert, key, clientCa, clientAuth, "
      "dockerHost, labelPrefix, idleTimeoutMs, keepAliveMs, shutdownGraceS, "
      "quiet); flags given on the command line win");
  auto* listen_opt = serve_cmd->add_option(
      "--listen", serve.listen,
      "Address to listen on: unix:///path or quic://127.0.0.1:4433 (repeatable, side by side)");
  auto* cert_opt = serve_cmd->add_option("--cert", serve.cert, "QUIC: server certificate (PEM)");
  auto* key_opt = serve_cmd->add_option("--key", serve.key, "QUIC: server private key (PEM)");
  auto* client_ca_opt = serve_cmd->add_option(
      "--client-ca", serve.client_ca, "QUIC: CA certificates that sign client certificates (PEM)");
  auto* client_auth_opt =
      serve_cmd
          ->add_option("--client-auth", client_auth,
                       "QUIC: require a client certificate, or make it optional (anonymous peers "
                       "get no scopes)")
          ->check(CLI::IsMember({"require", "optional"}))
          ->capture_default_str();
  auto* docker_host_opt = serve_cmd->add_option("--docker-host", serve.docker_host,
                                                "Docker daemon (default: $DOCKER_HOST)");
  auto* label_opt =
      serve_cmd->add_option("--label-prefix", serve.label_prefix, "Prefix of the ownership labels")
          ->capture_default_str();
  auto* grace_opt = serve_cmd
                        ->add_option("--shutdown-grace", serve.shutdown_grace_s,
                                     "Seconds in-flight calls get after SIGTERM")
                        ->capture_default_str();
  auto* idle_opt = serve_cmd
                       ->add_option("--idle-timeout-ms", serve.idle_timeout_ms,
                                    "QUIC: close a connection after this long without packets")
                       ->capture_default_str();
  auto* keep_alive_opt = serve_cmd
                             ->add_option("--keep-alive-ms", serve.keep_alive_ms,
                                          "QUIC: PING interval while calls are open (0: none)")
                             ->capture_default_str();
  auto* max_streams_opt =
      serve_cmd
          ->add_option("--max-streams", serve.max_streams,
                       "QUIC: calls one connection may have open at once (more wait)")
          ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
          ->capture_default_str();
  auto* quiet_opt = serve_cmd->add_flag("--quiet", serve.quiet, "No log line per call");
  auto* peers_opt = serve_cmd->add_option(
      "--peers", serve.peers_file,
      "Peers file (JSON): identities, scopes, owner label prefix; reloaded on SIGHUP. With it, "
      "unix-socket callers are anonymous unless their auth_token names a peer");

  alk::server::CallCommandOptions call;
  auto* call_cmd = app.add_subcommand("call", "Make one call and print its events as JSON lines");
  call_cmd
      ->add_option("address", call.address,
                   "Server address: unix:///run/alknet.sock or quic://host:port")
      ->required();
  call_cmd->add_option("operation", call.operation, "Operation, e.g. docker/container/list")
      ->required();
  call_cmd->add_option("input", call.input, "Input as JSON")->capture_default_str();
  call_cmd->add_flag("--raw", call.raw, "Use the raw carriage (attach, interactive exec)");
  call_cmd->add_option("--token", call.auth_token, "auth_token sent with the request");
  call_cmd->add_option("--ca", call.tls.ca, "QUIC: CA the server certificate must chain to (PEM)");
  call_cmd->add_option("--cert", call.tls.cert, "QUIC: client certificate (PEM)");
  call_cmd->add_option("--key", call.tls.key, "QUIC: client private key (PEM)");
  call_cmd->add_option("--server-name", call.tls.server_name,
                       "QUIC: name the server certificate must match (default: the host)");

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) {
    serve.client_cert_optional = client_auth == "optional";
    if (!serve_config.empty()) {
      // The file first; then every flag that was given on the command line wins.
      alk::server::ServeOptions merged;
      auto loaded = alk::server::load_serve_config(serve_config, merged);
      if (!loaded) {
        std::fprintf(stderr, "alknet-docker serve: --config %s\n", loaded.error().c_str());
        return 2;
      }
      if (listen_opt->count()) merged.listen = serve.listen;
      if (cert_opt->count()) merged.cert = serve.cert;
      if (key_opt->count()) merged.key = serve.key;
      if (client_ca_opt->count()) merged.client_ca = serve.client_ca;
      if (client_auth_opt->count()) merged.client_cert_optional = serve.client_cert_optional;
      if (docker_host_opt->count()) merged.docker_host = serve.docker_host;
      if (label_opt->count()) merged.label_prefix = serve.label_prefix;
      if (grace_opt->count()) merged.shutdown_grace_s = serve.shutdown_grace_s;
      if (idle_opt->count()) merged.idle_timeout_ms = serve.idle_timeout_ms;
      if (keep_alive_opt->count()) merged.keep_alive_ms = serve.keep_alive_ms;
      if (max_streams_opt->count()) merged.max_streams = serve.max_streams;
      if (quiet_opt->count()) merged.quiet = serve.quiet;
      if (peers_opt->count()) merged.peers_file = serve.peers_file;
      serve = std::move(merged);
    }
    return alk::server::run_serve(serve);
  }
  return alk::server::run_call(call);
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing is expected to throw past run() (errors are results); out of memory or a bug still
  // ends with a message and a distinct status rather than std::terminate.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "alknet-docker: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "alknet-docker: internal error\n");
  }
  return 70;  // EX_SOFTWARE
}

// alknet-docker: the server (`serve`) and the command-line client (`call`).
#include <CLI/CLI.hpp>

#include "server/call_command.h"
#include "server/serve_command.h"

int main(int argc, char** argv) {
  CLI::App app{"alknet-docker: Docker operations over the alknet call protocol"};
  app.require_subcommand(1);

  alk::server::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Serve the docker operations to callers");
  serve_cmd->add_option("--listen", serve.listen, "Address to listen on: unix:///path (repeatable)")
      ->required();
  serve_cmd->add_option("--docker-host", serve.docker_host, "Docker daemon (default: $DOCKER_HOST)");
  serve_cmd->add_option("--label-prefix", serve.label_prefix, "Prefix of the ownership labels")
      ->capture_default_str();
  serve_cmd->add_option("--shutdown-grace", serve.shutdown_grace_s,
                        "Seconds in-flight calls get after SIGTERM")
      ->capture_default_str();
  serve_cmd->add_flag("--quiet", serve.quiet, "No log line per call");
  serve_cmd->add_option(
      "--peers", serve.peers_file,
      "Peers file (JSON): identities, scopes, owner label prefix; reloaded on SIGHUP. With it, "
      "unix-socket callers are anonymous unless their auth_token names a peer");

  alk::server::CallCommandOptions call;
  auto* call_cmd = app.add_subcommand("call", "Make one call and print its events as JSON lines");
  call_cmd->add_option("address", call.address, "Server address, e.g. unix:///run/alknet.sock")
      ->required();
  call_cmd->add_option("operation", call.operation, "Operation, e.g. docker/container/list")->required();
  call_cmd->add_option("input", call.input, "Input as JSON")->capture_default_str();
  call_cmd->add_flag("--raw", call.raw, "Use the raw carriage (attach, interactive exec)");
  call_cmd->add_option("--token", call.auth_token, "auth_token sent with the request");

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return alk::server::run_serve(serve);
  return alk::server::run_call(call);
}

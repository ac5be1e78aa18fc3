// docker/container/attach (raw carriage only): inspect (existence, ownership, TTY, stdin), register
// the wait for the container's exit, then hijack POST /containers/{id}/attach and bridge it. The
// exit chunk goes out after the output's EOF and the wait's answer.
#include <memory>

#include "ops/container_wait.h"
#include "ops/docker_errors.h"
#include "ops/ownership.h"
#include "ops/raw_bridge.h"
#include "ops/register.h"

namespace alk::ops {

namespace {

using call::CallError;
using nlohmann::json;

// How long an attach may stay silent after the container's exit before it counts as ended (an
// attach that raced the exit is never ended by the daemon).
constexpr uint64_t kExitDrainGraceMs = 2000;

json attach_input_schema() {
  auto flag = [](const char* description) {
    return json{{"type", "boolean"}, {"default", true}, {"description", description}};
  };
  return {{"type", "object"},
          {"additionalProperties", false},
          {"required", {"containerId"}},
          {"properties",
           {{"containerId", container_id_schema()},
            {"stdin", flag("attach stdin (when the container was created with openStdin)")},
            {"stdout", flag("attach stdout")},
            {"stderr", flag("attach stderr")}}}};
}

// What the inspect says about attaching.
struct Target {
  std::string path;  // "/containers/<full id>"
  bool tty = false;
  bool open_stdin = false;
  bool stdin_once = false;
  bool running = false;
};

Target read_target(const json& inspect) {
  Target t;
  t.path = container_path(json{{"containerId", inspect.value("Id", std::string())}}).value();
  if (auto c = inspect.find("Config"); c != inspect.end() && c->is_object()) {
    t.tty = c->value("Tty", false);
    t.open_stdin = c->value("OpenStdin", false);
    t.stdin_once = c->value("StdinOnce", false);
  }
  if (auto s = inspect.find("State"); s != inspect.end() && s->is_object()) {
    t.running = s->value("Running", false);
  }
  return t;
}

class AttachHandler : public call::Handler {
 public:
  AttachHandler(Services& services, call::CallRequest request, call::CallSink& sink)
      : services_(services), request_(std::move(request)), sink_(sink) {}

  void start() override {
    auto path = container_path(request_.input);
    if (!path) return sink_.fail(path.error());
    const json& in = request_.input;
    if (!in.value("stdin", true) && !in.value("stdout", true) && !in.value("stderr", true)) {
      return sink_.fail(
          CallError::invalid_input("stdin", "attach needs at least one of stdin, stdout, stderr"));
    }
    check_ = check_container_owner(services_, request_.peer, in["containerId"].get<std::string>(),
                                   [this](Result<json, CallError> r) { inspected(std::move(r)); });
  }

  void on_writable() override {
    if (bridge_) bridge_->on_writable();
  }
  void on_stdin(std::string_view bytes) override {
    if (bridge_) bridge_->on_stdin(bytes);
  }
  void on_stdin_end() override {
    if (bridge_) bridge_->on_stdin_end();
  }
  void on_control(const json& message) override {
    if (bridge_) bridge_->on_control(message);
  }
  void cancel() override {
    if (bridge_) bridge_->cancel();
    release();
  }
  ~AttachHandler() override { release(); }

 private:
  void inspected(Result<json, CallError> r) {
    check_.reset();  // allowed from inside its own callback
    if (!r) return sink_.fail(r.error());
    target_ = read_target(r.value());
    const Target& t = target_;
    const bool stdin = request_.input.value("stdin", true) && t.open_stdin;

    RawBridgeOptions options;
    options.tty = t.tty;
    options.stdin = stdin;
    // Half-closing a TTY session, or a non-StdinOnce one, makes the daemon end the output while
    // the process keeps running (see StdinEnd).
    options.stdin_end =
        t.tty ? StdinEnd::tty_eof : (t.stdin_once ? StdinEnd::half_close : StdinEnd::keep_open);
    options.resize_path = t.path + "/resize";
    options.signals = SignalRoute::kill_container;
    options.kill_path = t.path + "/kill";
    options.exit_drain_grace_ms = kExitDrainGraceMs;
    bridge_ = std::make_unique<RawBridge>(services_, sink_, std::move(options));

    // A running container: "not-running" also answers for an exit that beats the registration.
    // Otherwise the exit to wait for is the one after the coming start.
    WaitHandlers handlers;
    handlers.on_registered = [this, stdin] { attach(stdin); };
    handlers.done = [this](Result<WaitOutcome, CallError> w) { waited(std::move(w)); };
    wait_ = wait_for_container(services_, t.path, t.running ? "not-running" : "next-exit",
                               std::move(handlers));
  }

  void attach(bool stdin) {
    attach_sent_ = true;
    const json& in = request_.input;
    auto flag = [](bool on) { return std::string(on ? "1" : "0"); };
    docker::Request req;
    req.method = "POST";
    req.path = target_.path + "/attach";  // no body: it would reach the container's stdin
    req.add_query("stream", "1")
        .add_query("stdin", flag(stdin))
        .add_query("stdout", flag(in.value("stdout", true)))
        .add_query("stderr", flag(in.value("stderr", true)));
    bridge_->open(std::move(req));
  }

  void waited(Result<WaitOutcome, CallError> w) {
    wait_.reset();  // allowed from inside its own callback
    if (w) return bridge_->set_exit_code(static_cast<int>(w.value().exit_code));
    // Before the attach, the wait's failure (a missing container…) is the call's answer; after
    // it, the output still drains and the exit code is unknown.
    if (!attach_sent_) return bridge_->fail(w.error());
    bridge_->set_exit_code(-1);
  }

  void release() {
    wait_.reset();
    check_.reset();
  }

  Services& services_;
  call::CallRequest request_;
  call::CallSink& sink_;
  Target target_;
  bool attach_sent_ = false;
  std::unique_ptr<docker::RequestHandle> check_;
  std::unique_ptr<docker::BodyStream> wait_;
  std::unique_ptr<RawBridge> bridge_;
};

}  // namespace

void register_attach_op(call::Registry& registry, Services& services) {
  call::OperationSpec spec;
  spec.name = "docker/container/attach";
  spec.kind = call::OpKind::subscription;
  spec.description =
      "Attaches to a container's stdin/stdout/stderr over the raw carriage (only). The exit chunk "
      "comes last, after the output ended and the container exited; attaching to a container that "
      "is not running waits for its next start and exit.";
  spec.input_schema = attach_input_schema();
  spec.output_schema = {
      {"type", "object"},
      {"properties", {{"carriage", {{"type", "string"}}}, {"tty", {{"type", "boolean"}}}}}};
  spec.raw_carriage = true;
  spec.raw_only = true;
  spec.scope = "container:attach";
  spec.factory = [&services](const call::CallRequest& request, call::CallSink& sink) {
    return std::make_unique<AttachHandler>(services, request, sink);
  };
  registry.add(std::move(spec));
}

}  // namespace alk::ops

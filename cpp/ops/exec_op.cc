// docker/container/exec: POST /containers/{id}/exec, then POST /exec/{id}/start hijacked. JSON
// carriage: output events, then {"exitCode":N,"terminal":true}, then call.completed. Raw carriage
// (stdin, TTY): the raw bridge. Either way the end comes only after the output's EOF and the exit
// code, read from GET /exec/{id}/json once the output ended.
#include <algorithm>
#include <memory>

#include "ops/docker_errors.h"
#include "ops/output_pump.h"
#include "ops/ownership.h"
#include "ops/raw_bridge.h"
#include "ops/register.h"
#include "util/timer.h"

namespace alk::ops {

namespace {

using call::CallError;
using nlohmann::json;

json exec_input_schema() {
  const json text = {{"type", "string"}};
  return {{"type", "object"},
          {"additionalProperties", false},
          {"required", {"containerId", "command"}},
          {"properties",
           {{"containerId", container_id_schema()},
            {"command",
             {{"type", "array"},
              {"items", text},
              {"minItems", 1},
              {"description", "the program and its arguments"}}},
            {"env", {{"type", "object"}, {"additionalProperties", text}}},
            {"workingDir", text},
            {"user", text},
            {"tty", {{"type", "boolean"}, {"default", false}}},
            {"stdin",
             {{"type", "boolean"},
              {"default", false},
              {"description", "attach stdin (raw carriage only)"}}}}}};
}

json exec_output_schema() {
  json schema = output_event_schema();
  schema.erase("required");
  schema["description"] =
      "output events, then {\"exitCode\": N, \"terminal\": true}; on the raw carriage "
      "{\"carriage\": \"raw\", \"tty\": bool}";
  schema["properties"]["exitCode"] = {{"type", "integer"}};
  schema["properties"]["terminal"] = {{"type", "boolean"}};
  schema["properties"]["carriage"] = {{"type", "string"}};
  schema["properties"]["tty"] = {{"type", "boolean"}};
  return schema;
}

// POST /containers/{id}/exec body from the validated input.
Result<json, CallError> exec_create_body(const json& input) {
  const bool tty = input.value("tty", false);
  json body = {{"AttachStdin", input.value("stdin", false)},
               {"AttachStdout", true},
               {"AttachStderr", true},
               {"Tty", tty},
               {"Cmd", input["command"]}};
  if (auto env = input.find("env"); env != input.end()) {
    json list = json::array();
    for (const auto& [key, value] : env->items()) {
      if (key.empty() || key.find('=') != std::string::npos) {
        return unexpected(
            CallError::invalid_input("env." + key, "a name must be non-empty and hold no '='"));
      }
      list.push_back(key + "=" + value.get<std::string>());
    }
    body["Env"] = std::move(list);
  }
  if (auto dir = input.find("workingDir"); dir != input.end()) body["WorkingDir"] = *dir;
  if (auto user = input.find("user"); user != input.end()) body["User"] = *user;
  return body;
}

// Reads an exec's exit code from GET /exec/{id}/json. The output's EOF can come before the
// daemon has recorded the exit, so a Running exec is asked again, with a growing delay; the
// probe waits as long as the exec runs (a process that closed its output first) or until it is
// destroyed.
class ExecExitProbe {
 public:
  using Done = std::function<void(Result<int, CallError>)>;

  ExecExitProbe(Services& services, std::string exec_id, Done done)
      : services_(services),
        path_("/exec/" + std::move(exec_id) + "/json"),
        done_(std::move(done)),
        retry_(services.loop) {
    ask();
  }

 private:
  static constexpr uint64_t kFirstDelayMs = 5;
  static constexpr uint64_t kMaxDelayMs = 1000;

  void ask() {
    docker::Request req;
    req.path = path_;
    inflight_ = services_.docker->send(
        std::move(req),
        [this](Result<docker::Response, docker::Error> r) { answered(std::move(r)); });
  }

  void answered(Result<docker::Response, docker::Error> r) {
    inflight_.reset();
    if (!r) return done_(unexpected(to_call_error(r.error(), Subject::exec)));
    if (!r.value().ok()) return done_(unexpected(to_call_error(r.value(), Subject::exec)));
    const json inspect = json::parse(r.value().body, nullptr, false);
    if (inspect.is_discarded() || !inspect.is_object()) {
      return done_(unexpected(CallError::internal("docker answered invalid JSON")));
    }
    const auto code = inspect.find("ExitCode");
    if (!inspect.value("Running", false) && code != inspect.end() && code->is_number_integer()) {
      return done_(code->get<int>());
    }
    retry_.start(delay_ms_, [this] { ask(); });
    delay_ms_ = std::min(delay_ms_ * 2, kMaxDelayMs);
  }

  Services& services_;
  std::string path_;
  Done done_;  // called last; must not destroy the probe
  Timer retry_;
  uint64_t delay_ms_ = kFirstDelayMs;
  std::unique_ptr<docker::RequestHandle> inflight_;
};

class ExecHandler : public call::Handler {
 public:
  ExecHandler(Services& services, call::CallRequest request, call::CallSink& sink)
      : services_(services),
        request_(std::move(request)),
        sink_(sink),
        raw_(request_.carriage == call::Carriage::raw),
        tty_(request_.input.value("tty", false)),
        stdin_(request_.input.value("stdin", false)),
        pump_(sink, {.tty = tty_}) {}

  void start() override {
    if (stdin_ && !raw_) {
      return sink_.fail(CallError::invalid_input("stdin", "stdin needs the raw carriage"));
    }
    auto path = container_path(request_.input, "/exec");
    if (!path) return sink_.fail(path.error());
    auto body = exec_create_body(request_.input);
    if (!body) return sink_.fail(body.error());
    docker::Request req;
    req.method = "POST";
    req.path = std::move(path).value();
    req.body = body.value().dump();
    step_ = services_.docker->send(
        std::move(req),
        [this](Result<docker::Response, docker::Error> r) { created(std::move(r)); });
  }

  void on_writable() override {
    if (bridge_) {
      bridge_->on_writable();
    } else {
      pump_.on_writable();
    }
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
    probe_.reset();
  }
  ~ExecHandler() override { release(); }

 private:
  void created(Result<docker::Response, docker::Error> r) {
    step_.reset();
    if (!r) return fail(to_call_error(r.error(), Subject::container));
    if (!r.value().ok()) return fail(to_call_error(r.value(), Subject::container));
    const json created = json::parse(r.value().body, nullptr, false);
    if (created.is_discarded() || !created.is_object() || !created.contains("Id") ||
        !created["Id"].is_string()) {
      return fail(CallError::internal("docker created an exec without an id"));
    }
    exec_id_ = created["Id"].get<std::string>();
    docker::Request start;
    start.method = "POST";
    start.path = "/exec/" + exec_id_ + "/start";
    // Only {Detach, Tty}: anything else in the body would be read as the process's stdin.
    start.body = json{{"Detach", false}, {"Tty", tty_}}.dump();
    raw_ ? start_raw(std::move(start)) : start_json(std::move(start));
  }

  void start_raw(docker::Request start) {
    RawBridgeOptions options;
    options.tty = tty_;
    options.stdin = stdin_;
    options.stdin_end = tty_ ? StdinEnd::tty_eof : StdinEnd::half_close;
    options.resize_path = "/exec/" + exec_id_ + "/resize";
    options.signals = tty_ ? SignalRoute::tty_keys : SignalRoute::none;
    bridge_ = std::make_unique<RawBridge>(services_, sink_, std::move(options));
    bridge_->open(std::move(start), [this] {
      probe_exit(
          [this](Result<int, CallError> code) { bridge_->set_exit_code(code ? *code : -1); });
    });
  }

  void start_json(docker::Request start) {
    docker::HijackHandlers h;
    h.on_open = [this](const docker::Response& head) {
      pump_.set_tty(stream_is_tty(*services_.docker, head, tty_));
      pump_.set_source(conn_.get());
    };
    h.on_data = [this](std::string_view bytes) {
      if (!pump_.feed(bytes)) fail(CallError::make(call::codes::kDockerError, pump_.error()));
    };
    h.on_end = [this](std::optional<docker::Error> error) {
      const bool whole = pump_.finish();
      pump_.set_source(nullptr);
      conn_.reset();  // allowed from inside its own callback
      if (error) return fail(to_call_error(*error, Subject::container));
      if (!whole) return fail(CallError::make(call::codes::kDockerError, pump_.error()));
      probe_exit([this](Result<int, CallError> code) {
        if (!code) return fail(code.error());
        sink_.respond(json{{"exitCode", *code}, {"terminal", true}});
        sink_.complete();
      });
    };
    conn_ = services_.docker->hijack(std::move(start), std::move(h));
  }

  // The probe stays alive after it answered (it holds nothing then): its callback may not
  // destroy it. cancel() and the destructor release it.
  void probe_exit(ExecExitProbe::Done done) {
    probe_ = std::make_unique<ExecExitProbe>(services_, exec_id_, std::move(done));
  }

  // A failure of the JSON carriage, or of the raw one before its bridge exists.
  void fail(const CallError& error) {
    release();
    if (bridge_) return bridge_->fail(error);
    sink_.fail(error);
  }

  // Destroying handles from inside their own callbacks is allowed by the client.
  void release() {
    pump_.set_source(nullptr);
    conn_.reset();
    step_.reset();
  }

  Services& services_;
  call::CallRequest request_;
  call::CallSink& sink_;
  const bool raw_;
  const bool tty_;
  const bool stdin_;
  OutputPump pump_;  // JSON carriage
  std::string exec_id_;
  std::unique_ptr<docker::RequestHandle> step_;
  std::unique_ptr<docker::Hijacked> conn_;  // JSON carriage
  std::unique_ptr<RawBridge> bridge_;       // raw carriage
  std::unique_ptr<ExecExitProbe> probe_;
};

}  // namespace

void register_exec_op(call::Registry& registry, Services& services) {
  call::OperationSpec spec;
  spec.name = "docker/container/exec";
  spec.kind = call::OpKind::subscription;
  spec.description =
      "Runs a command in a running container. JSON carriage: output events "
      "{\"stream\",\"text\"|\"base64\"}, then {\"exitCode\":N,\"terminal\":true}, then completed, "
      "only after the output ended and the exit code is known. Raw carriage (needed for stdin): "
      "stdout/stderr chunks, resize control (TTY), and the exit chunk last.";
  spec.input_schema = exec_input_schema();
  spec.output_schema = exec_output_schema();
  spec.raw_carriage = true;
  spec.scope = "container:exec";
  spec.factory = [&services](const call::CallRequest& request, call::CallSink& sink) {
    return std::make_unique<ExecHandler>(services, request, sink);
  };
  registry.add(gate_on_owner(services, std::move(spec)));
}

}  // namespace alk::ops

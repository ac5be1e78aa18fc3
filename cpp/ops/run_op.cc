// docker/container/run — the coordinator's one call: create → (wait registered ∥ attach open) →
// start → output events → {"exitCode": N, "terminal": true} once the output reached EOF *and* the
// exit code is known → remove (autoRemove) → call.completed.
//
// Decisions:
//  - The first event is {"containerId": "<full id>", "status": "created"} (plus "warnings" when the
//    daemon gave any), so a coordinator can address the container (logs, kill) while it runs.
//  - run has no stdin: OpenStdin/StdinOnce/AttachStdin are forced off, so the process reads EOF
//    from /dev/null at once (a hijacked stdin half-closed on attach can end the output early,
//    moby#38457). Interactive input is create + attach, or exec.
//  - autoRemove (default true) is done by run itself after the exit code is read, never through
//    HostConfig.AutoRemove, which races the wait (moby#25861).
//  - Cancel (or the handler going away before the end): the container is force-removed — SIGKILL
//    and remove in one DELETE ?force=1 — through services.background, whatever autoRemove says.
//    A failure after create removes it only when autoRemove is set.
#include <memory>

#include "ops/container_config.h"
#include "ops/container_wait.h"
#include "ops/docker_errors.h"
#include "ops/output_pump.h"
#include "ops/register.h"

namespace alk::ops {

namespace {

using call::CallError;
using nlohmann::json;

// DELETE ?force=1&v=1: kills the container if it runs, removes it and its anonymous volumes.
docker::Request remove_request(const std::string& id) {
  docker::Request req;
  req.method = "DELETE";
  req.path = "/containers/" + id;
  req.add_query("force", "1");
  req.add_query("v", "1");
  return req;
}

// Force-removes a container the call created, outliving the call.
void remove_in_background(Services& services, const std::string& id) {
  services.background->send(remove_request(id));
}

json run_input_schema() {
  json schema = create_input_schema();
  schema["properties"]["autoRemove"] = {
      {"type", "boolean"},
      {"default", true},
      {"description", "remove the container once the exit code is known"}};
  return schema;
}

json run_output_schema() {
  return {{"anyOf",
           {{{"type", "object"},
             {"description", "first event"},
             {"properties",
              {{"containerId", {{"type", "string"}}},
               {"status", {{"type", "string"}, {"enum", {"created"}}}},
               {"warnings", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
             {"required", {"containerId", "status"}}},
            output_event_schema(),
            {{"type", "object"},
             {"description", "last event"},
             {"properties",
              {{"exitCode", {{"type", "integer"}}},
               {"terminal", {{"type", "boolean"}, {"enum", {true}}}},
               {"error", {{"type", "string"}}}}},
             {"required", {"exitCode", "terminal"}}}}}};
}

class RunHandler : public call::Handler {
 public:
  RunHandler(Services& services, call::CallRequest request, call::CallSink& sink)
      : services_(services),
        request_(std::move(request)),
        sink_(sink),
        auto_remove_(request_.input.value("autoRemove", true)),
        pump_(sink, {}),
        alive_(std::make_shared<RunHandler*>(this)) {}

  ~RunHandler() override { release(/*remove_container=*/cleanup_on_release_); }

  void start() override {
    json input = request_.input;
    input.erase("autoRemove");
    auto body = build_create_body(input, request_.peer, services_.label_prefix);
    if (!body) return sink_.fail(body.error());
    json& config = body.value();
    config["OpenStdin"] = false;
    config["StdinOnce"] = false;
    config["AttachStdin"] = false;
    config["AttachStdout"] = true;
    config["AttachStderr"] = true;
    tty_ = config.value("Tty", false);

    docker::Request req;
    req.method = "POST";
    req.path = "/containers/create";
    if (auto name = input.find("name"); name != input.end())
      req.add_query("name", name->get<std::string>());
    req.body = config.dump();
    // Through background: if the call is gone when the daemon answers, the container it made is
    // still removed.
    services_.background->send(std::move(req),
                               [&services = services_, weak = std::weak_ptr<RunHandler*>(alive_)](
                                   Result<docker::Response, docker::Error> r) {
                                 if (auto self = weak.lock()) return (*self)->on_created(r);
                                 if (r && r.value().status == 201) {
                                   const json j = json::parse(r.value().body, nullptr, false);
                                   if (j.is_object() && j.contains("Id") && j["Id"].is_string()) {
                                     remove_in_background(services, j["Id"].get<std::string>());
                                   }
                                 }
                               });
  }

  void on_writable() override { pump_.on_writable(); }
  void cancel() override { release(/*remove_container=*/cleanup_on_release_); }

 private:
  void on_created(const Result<docker::Response, docker::Error>& r) {
    if (!r) return fail(to_call_error(r.error(), Subject::image));
    if (!r.value().ok()) {
      return fail(
          create_error_for(request_.peer.is_operator, to_call_error(r.value(), Subject::image)));
    }
    const json j = json::parse(r.value().body, nullptr, false);
    if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string()) {
      return fail(CallError::internal("docker answered create without an Id"));
    }
    id_ = j["Id"].get<std::string>();
    cleanup_on_release_ = true;
    json created = {{"containerId", id_}, {"status", "created"}};
    if (auto w = j.find("Warnings"); w != j.end() && w->is_array() && !w->empty()) {
      created["warnings"] = *w;
    }
    sink_.respond(created);

    // Both must be in place before start, so a container that exits at once loses neither its
    // output nor its exit code.
    WaitHandlers wait;
    wait.on_registered = [this] {
      wait_registered_ = true;
      maybe_start();
    };
    wait.done = [this](Result<WaitOutcome, CallError> outcome) {
      on_wait_done(std::move(outcome));
    };
    wait_ = wait_for_container(services_, "/containers/" + id_, "next-exit", std::move(wait));

    docker::Request attach;
    attach.method = "POST";
    attach.path = "/containers/" + id_ + "/attach";
    attach.add_query("stream", "1");
    attach.add_query("stdout", "1");
    attach.add_query("stderr", "1");
    attach_ = services_.docker->hijack(
        std::move(attach),
        {.on_open =
             [this](const docker::Response& head) {
               pump_.set_tty(stream_is_tty(*services_.docker, head, tty_));
               attach_open_ = true;
               maybe_start();
             },
         .on_data =
             [this](std::string_view bytes) {
               if (!pump_.feed(bytes))
                 fail(CallError::make(call::codes::kDockerError, pump_.error()));
             },
         .on_drain = {},
         .on_end =
             [this](std::optional<docker::Error> error) { on_output_end(std::move(error)); }});
    pump_.set_source(attach_.get());
  }

  void maybe_start() {
    if (!wait_registered_ || !attach_open_ || start_) return;
    docker::Request req;
    req.method = "POST";
    req.path = "/containers/" + id_ + "/start";
    start_ =
        services_.docker->send(std::move(req), [this](Result<docker::Response, docker::Error> r) {
          if (!r) return fail(to_call_error(r.error(), Subject::container));
          if (!r.value().ok() && r.value().status != 304) {
            return fail(to_call_error(r.value(), Subject::container));
          }
          started_ = true;
          maybe_finish();
        });
  }

  void on_wait_done(Result<WaitOutcome, CallError> outcome) {
    wait_.reset();
    if (!outcome) return fail(outcome.error());
    exit_ = outcome.value();
    maybe_finish();
  }

  void on_output_end(std::optional<docker::Error> error) {
    const bool whole = pump_.finish();
    pump_.set_source(nullptr);
    attach_.reset();
    if (error) return fail(to_call_error(*error, Subject::container));
    if (!whole) return fail(CallError::make(call::codes::kDockerError, pump_.error()));
    output_done_ = true;
    maybe_finish();
  }

  // The exit code goes out only when the output is drained and the start was confirmed (a start
  // that fails can still end a next-exit wait).
  void maybe_finish() {
    if (!started_ || !output_done_ || !exit_ || finishing_) return;
    finishing_ = true;
    json last = {{"exitCode", exit_->exit_code}, {"terminal", true}};
    if (!exit_->error.empty()) last["error"] = exit_->error;
    sink_.respond(last);
    if (!auto_remove_) return done();
    remove_ = services_.docker->send(
        remove_request(id_), [this](const Result<docker::Response, docker::Error>&) { done(); });
  }

  void done() {
    cleanup_on_release_ = false;
    release(false);
    sink_.complete();
  }

  void fail(const CallError& error) {
    cleanup_on_release_ = false;
    release(/*remove_container=*/auto_remove_);
    sink_.fail(error);
  }

  // Drops every docker handle (allowed from inside their own callbacks) and, if asked, removes the
  // container in the background. Idempotent.
  void release(bool remove_container) {
    alive_.reset();
    pump_.set_source(nullptr);
    wait_.reset();
    attach_.reset();
    start_.reset();
    remove_.reset();
    if (remove_container && !id_.empty()) remove_in_background(services_, id_);
    cleanup_on_release_ = false;
    id_.clear();
  }

  Services& services_;
  call::CallRequest request_;
  call::CallSink& sink_;
  const bool auto_remove_;
  OutputPump pump_;
  std::shared_ptr<RunHandler*> alive_;  // expires when the call no longer wants the create answer

  std::string id_;
  bool tty_ = false;
  bool cleanup_on_release_ = false;  // the container is ours to remove if the call goes away
  bool wait_registered_ = false;
  bool attach_open_ = false;
  bool started_ = false;
  bool output_done_ = false;
  bool finishing_ = false;
  std::optional<WaitOutcome> exit_;

  std::unique_ptr<docker::BodyStream> wait_;
  std::unique_ptr<docker::Hijacked> attach_;
  std::unique_ptr<docker::RequestHandle> start_;
  std::unique_ptr<docker::RequestHandle> remove_;
};

}  // namespace

void register_run_op(call::Registry& registry, Services& services) {
  call::OperationSpec spec;
  spec.name = "docker/container/run";
  spec.kind = call::OpKind::subscription;
  spec.description =
      "Creates, starts and follows a container: {\"containerId\",\"status\":\"created\"}, then "
      "output events {\"stream\",\"text\"|\"base64\"}, then {\"exitCode\",\"terminal\":true} once "
      "the output is drained and the exit code known, then call.completed (after removing the "
      "container when autoRemove, the default). The container gets no stdin.";
  spec.input_schema = run_input_schema();
  spec.output_schema = run_output_schema();
  spec.scope = "container:run";
  spec.factory = [&services](const call::CallRequest& request, call::CallSink& sink) {
    return std::make_unique<RunHandler>(services, request, sink);
  };
  registry.add(std::move(spec));
}

}  // namespace alk::ops

// docker/container/logs: inspect (existence, ownership, TTY), then GET /containers/{id}/logs
// streamed through the output pump; call.completed when the daemon ends the body.
#include <ctime>

#include "ops/docker_errors.h"
#include "ops/output_pump.h"
#include "ops/ownership.h"
#include "ops/register.h"
#include "ops/time_input.h"

namespace alk::ops {

namespace {

using call::CallError;
using nlohmann::json;

json logs_input_schema() {
  const json flag = {{"type", "boolean"}};
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"containerId"}},
      {"properties",
       {{"containerId", container_id_schema()},
        {"follow",
         {{"type", "boolean"}, {"default", false}, {"description", "keep streaming new output"}}},
        {"stdout", {{"type", "boolean"}, {"default", true}}},
        {"stderr", {{"type", "boolean"}, {"default", true}}},
        {"timestamps",
         {{"type", "boolean"},
          {"default", false},
          {"description", "add \"timestamp\" to every event"}}},
        {"tail",
         {{"type", {"string", "integer"}},
          {"minimum", 0},
          {"description", "\"all\" (default) or the number of last lines"}}},
        {"since", time_input_schema("only output after this time")},
        {"until", time_input_schema("only output before this time")}}}};
}

// The logs query from the validated input, or INVALID_INPUT naming the field.
Result<docker::Request, CallError> logs_request(const json& input, const std::string& path) {
  docker::Request req;
  req.path = path;
  auto flag = [&](const char* name, bool def) { return input.value(name, def) ? "1" : "0"; };
  if (!input.value("stdout", true) && !input.value("stderr", true)) {
    return unexpected(CallError::invalid_input("stdout", "stdout and stderr cannot both be false"));
  }
  req.add_query("follow", flag("follow", false));
  req.add_query("stdout", flag("stdout", true));
  req.add_query("stderr", flag("stderr", true));
  req.add_query("timestamps", flag("timestamps", false));
  if (auto tail = input.find("tail"); tail != input.end()) {
    if (tail->is_number_integer()) {
      req.add_query("tail", std::to_string(tail->get<int64_t>()));
    } else {
      const auto& s = tail->get_ref<const std::string&>();
      const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
      if (s != "all" && !digits) {
        return unexpected(CallError::invalid_input("tail", "must be \"all\" or a number of lines"));
      }
      req.add_query("tail", s);
    }
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const char* field : {"since", "until"}) {
    if (auto v = input.find(field); v != input.end()) {
      auto t = to_docker_time(*v, field, now);
      if (!t) return unexpected(t.error());
      req.add_query(field, t.value());
    }
  }
  return req;
}

class LogsHandler : public call::Handler {
 public:
  LogsHandler(Services& services, call::CallRequest request, call::CallSink& sink)
      : services_(services),
        request_(std::move(request)),
        sink_(sink),
        pump_(sink, {.timestamps = request_.input.value("timestamps", false)}),
        follow_(request_.input.value("follow", false)) {}

  void start() override {
    // Validate everything before the first docker request.
    auto path = container_path(request_.input);
    if (!path) return sink_.fail(path.error());
    auto req = logs_request(request_.input, "");
    if (!req) return sink_.fail(req.error());
    check_ = check_container_owner(
        services_, request_.peer, request_.input["containerId"].get<std::string>(),
        [this, req = std::move(req).value()](Result<json, CallError> r) mutable {
          on_inspect(std::move(r), std::move(req));
        });
    // A follow may run for hours: keep nothing of the request it no longer needs.
    request_ = call::CallRequest{};
  }

  void on_writable() override { pump_.on_writable(); }
  void cancel() override { release(); }
  ~LogsHandler() override { release(); }

 private:
  void on_inspect(Result<json, CallError> r, docker::Request req) {
    check_.reset();
    if (!r) return sink_.fail(r.error());
    const json& inspect = r.value();
    tty_ = inspect.contains("Config") && inspect["Config"].value("Tty", false);
    const std::string id = inspect.value("Id", std::string());
    // The full id pins the logs to the container that was checked.
    req.path = container_path(json{{"containerId", id}}, "/logs").value();
    logs_request_ = std::move(req);
    if (follow_ && is_created(inspect)) return await_start(id);
    stream_logs();
  }

  static bool is_created(const json& inspect) {
    auto state = inspect.find("State");
    return state != inspect.end() && state->is_object() && state->value("Status", "") == "created";
  }

  // The daemon ends a follow on a never-started container at once, with nothing: wait for the
  // start (an events subscription, then a re-inspect for a start that came before it), then read
  // the logs from the beginning, so a follow opened before the start misses nothing.
  void await_start(const std::string& id) {
    docker::Request events;
    events.path = "/events";
    events.add_query(
        "filters",
        json{{"type", {"container"}}, {"container", {id}}, {"event", {"start", "destroy"}}}.dump());
    stream_ = services_.docker->stream(
        std::move(events), {.on_head = [this, id](const docker::Response&) { reinspect(id); },
                            .on_data = [this](std::string_view) { stream_logs(); },
                            .on_end =
                                [this](std::optional<docker::Error> error) {
                                  if (error) return fail(to_call_error(*error, Subject::container));
                                  stream_logs();
                                }});
  }

  void reinspect(const std::string& id) {
    docker::Request req;
    req.path = container_path(json{{"containerId", id}}, "/json").value();
    check_ =
        services_.docker->send(std::move(req), [this](Result<docker::Response, docker::Error> r) {
          if (!r) return fail(to_call_error(r.error(), Subject::container));
          if (!r.value().ok()) return fail(to_call_error(r.value(), Subject::container));
          const json inspect = json::parse(r.value().body, nullptr, false);
          if (inspect.is_discarded() || !is_created(inspect)) return stream_logs();
          check_.reset();
        });
  }

  void stream_logs() {
    release();
    stream_ = services_.docker->stream(
        std::move(logs_request_),
        {.on_head =
             [this](const docker::Response& head) {
               pump_.set_tty(stream_is_tty(*services_.docker, head, tty_));
             },
         .on_data =
             [this](std::string_view bytes) {
               if (!pump_.feed(bytes))
                 fail(CallError::make(call::codes::kDockerError, pump_.error()));
             },
         .on_end = [this](std::optional<docker::Error> error) { on_end(std::move(error)); }});
    pump_.set_source(stream_.get());
  }

  void on_end(std::optional<docker::Error> error) {
    const bool whole = pump_.finish();
    release();
    if (error) return sink_.fail(to_call_error(*error, Subject::container));
    if (!whole) return sink_.fail(CallError::make(call::codes::kDockerError, pump_.error()));
    sink_.complete();
  }

  void fail(const CallError& error) {
    release();
    sink_.fail(error);
  }

  // Destroying the stream from inside its own callbacks is allowed by the client.
  void release() {
    pump_.set_source(nullptr);
    stream_.reset();
    check_.reset();
  }

  Services& services_;
  call::CallRequest request_;
  call::CallSink& sink_;
  OutputPump pump_;
  const bool follow_;
  bool tty_ = false;
  docker::Request logs_request_;
  std::unique_ptr<docker::RequestHandle> check_;
  std::unique_ptr<docker::BodyStream> stream_;
};

}  // namespace

void register_logs_op(call::Registry& registry, Services& services) {
  call::OperationSpec spec;
  spec.name = "docker/container/logs";
  spec.kind = call::OpKind::subscription;
  spec.description =
      "Streams a container's logs: one event {\"stream\",\"text\"|\"base64\",\"timestamp\"?} per "
      "log entry (multiplexed) or per read (TTY); completes when the daemon ends the stream (at "
      "once without follow, when the container stops with follow).";
  spec.input_schema = logs_input_schema();
  spec.output_schema = output_event_schema();
  spec.scope = "container:logs";
  spec.factory = [&services](const call::CallRequest& request, call::CallSink& sink) {
    return std::make_unique<LogsHandler>(services, request, sink);
  };
  registry.add(std::move(spec));
}

}  // namespace alk::ops

#include "ops/container_wait.h"

#include <nlohmann/json.hpp>

#include "ops/docker_errors.h"
#include "ops/ownership.h"

namespace alk::ops {

using call::CallError;
using nlohmann::json;

namespace {

constexpr size_t kMaxWaitBody = size_t{64} * 1024;

Result<WaitOutcome, CallError> parse_outcome(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("StatusCode") ||
      !j["StatusCode"].is_number_integer()) {
    return unexpected(
        CallError::make(call::codes::kDockerError, "docker ended the wait without an exit code"));
  }
  WaitOutcome out;
  out.exit_code = j["StatusCode"].get<int64_t>();
  if (auto e = j.find("Error"); e != j.end() && e->is_object()) {
    out.error = e->value("Message", "");
  }
  return out;
}

class WaitHandler : public call::Handler {
 public:
  WaitHandler(Services& services, call::CallRequest request, call::CallSink& sink)
      : services_(services), request_(std::move(request)), sink_(sink) {}

  void start() override {
    auto path = container_path(request_.input);
    if (!path) {
      sink_.fail(path.error());
      return;
    }
    WaitHandlers handlers;
    handlers.done = [this](Result<WaitOutcome, CallError> r) {
      if (!r) {
        sink_.fail(r.error());
        return;
      }
      json out = {{"exitCode", r.value().exit_code}};
      if (!r.value().error.empty()) out["error"] = r.value().error;
      sink_.respond(out);
    };
    wait_ =
        wait_for_container(services_, std::move(path).value(),
                           request_.input.value("condition", "not-running"), std::move(handlers));
  }

  void cancel() override { wait_.reset(); }

 private:
  Services& services_;
  call::CallRequest request_;
  call::CallSink& sink_;
  std::unique_ptr<docker::BodyStream> wait_;
};

}  // namespace

std::unique_ptr<docker::BodyStream> wait_for_container(Services& services,
                                                       std::string path_of_container,
                                                       std::string_view condition,
                                                       WaitHandlers handlers) {
  docker::Request req;
  req.method = "POST";
  req.path = std::move(path_of_container) + "/wait";
  req.add_query("condition", std::string(condition));
  auto body = std::make_shared<std::string>();
  auto shared = std::make_shared<WaitHandlers>(std::move(handlers));
  docker::BodyHandlers h;
  h.on_head = [shared](const docker::Response&) {
    if (shared->on_registered) shared->on_registered();
  };
  h.on_data = [body](std::string_view bytes) {
    // Bounded: the answer is one small object; the excess only makes it unparseable.
    if (body->size() < kMaxWaitBody) body->append(bytes.substr(0, kMaxWaitBody - body->size()));
  };
  h.on_end = [shared, body](std::optional<docker::Error> error) {
    // `done` may destroy the handle and this closure with it: keep what it needs alive.
    auto keep = shared;     // NOLINT(performance-unnecessary-copy-initialization): see above
    auto keep_body = body;  // NOLINT(performance-unnecessary-copy-initialization): see above
    if (error) {
      keep->done(unexpected(to_call_error(*error, Subject::container)));
    } else {
      keep->done(parse_outcome(*keep_body));
    }
  };
  return services.docker->stream(std::move(req), std::move(h));
}

call::OperationSpec wait_op_spec(Services& services) {
  call::OperationSpec spec;
  spec.name = "docker/container/wait";
  spec.kind = call::OpKind::query;
  spec.description =
      "Blocks until the container meets the condition (default not-running) and returns its exit "
      "code.";
  spec.input_schema = {
      {"type", "object"},
      {"properties",
       {{"containerId", container_id_schema()},
        {"condition", {{"type", "string"}, {"enum", {"not-running", "next-exit", "removed"}}}}}},
      {"required", {"containerId"}},
      {"additionalProperties", false}};
  spec.output_schema = {
      {"type", "object"},
      {"properties", {{"exitCode", {{"type", "integer"}}}, {"error", {{"type", "string"}}}}},
      {"required", {"exitCode"}}};
  spec.scope = "container:wait";
  spec.factory = [&services](const call::CallRequest& request, call::CallSink& sink) {
    return std::make_unique<WaitHandler>(services, request, sink);
  };
  return gate_on_owner(services, std::move(spec));
}

}  // namespace alk::ops

#include "ops/pull_op.h"

#include <memory>

#include "ops/docker_errors.h"
#include "ops/image_ref.h"
#include "ops/json_lines_op.h"
#include "wire/json_text.h"
#include "wire/line_splitter.h"

namespace alk::ops {

namespace {

using call::CallError;
using nlohmann::json;

// Resolving a registry may take a while before the daemon writes the first progress line, which
// is when it sends the response headers.
constexpr uint64_t kPullHeadersTimeoutMs = uint64_t{5} * 60 * 1000;

bool says_not_found(std::string_view m) {
  return m.find("not found") != std::string_view::npos ||
         m.find("manifest unknown") != std::string_view::npos ||
         m.find("repository does not exist") != std::string_view::npos;
}

json pull_input_schema() {
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"image"}},
      {"properties",
       {{"image",
         {{"type", "string"},
          {"minLength", 1},
          {"description", "e.g. busybox or registry:5000/x/y"}}},
        {"tag",
         {{"type", "string"},
          {"minLength", 1},
          {"maxLength", 128},
          {"description", "default \"latest\" unless image names a tag or digest"}}},
        {"platform", {{"type", "string"}, {"minLength", 1}, {"description", "e.g. linux/amd64"}}},
        {"auth",
         {{"type", "object"},
          {"additionalProperties", false},
          {"description", "registry credentials (sent as X-Registry-Auth)"},
          {"properties",
           {{"username", {{"type", "string"}}},
            {"password", {{"type", "string"}}},
            {"serverAddress", {{"type", "string"}}},
            {"identityToken", {{"type", "string"}}}}}}}}}};
}

json progress_schema() {
  return {{"type", "object"},
          {"properties",
           {{"status", {{"type", "string"}}},
            {"id", {{"type", "string"}}},
            {"progress", {{"type", "string"}}},
            {"progressDetail", {{"type", "object"}}}}}};
}

// X-Registry-Auth: base64url of the daemon's AuthConfig JSON.
std::string registry_auth(const json& auth) {
  json config = json::object();
  for (const auto& [ours, theirs] : {std::pair{"username", "username"},
                                     {"password", "password"},
                                     {"serverAddress", "serveraddress"},
                                     {"identityToken", "identitytoken"}}) {
    if (auto it = auth.find(ours); it != auth.end()) config[theirs] = *it;
  }
  std::string out;
  wire::append_base64(out, config.dump());
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

Result<docker::Request, CallError> pull_request(const json& input) {
  const auto& image = input["image"].get_ref<const std::string&>();
  if (auto bad = check_image_ref(image)) return unexpected(*bad);
  docker::Request req;
  req.method = "POST";
  req.path = "/images/create";
  req.headers_timeout_ms = kPullHeadersTimeoutMs;
  req.add_query("fromImage", image);
  if (auto tag = input.find("tag"); tag != input.end()) {
    const auto& t = tag->get_ref<const std::string&>();
    if (t.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
        std::string::npos) {
      return unexpected(
          CallError::invalid_input("tag", "may hold only letters, digits, '_', '.' and '-'"));
    }
    if (has_tag_or_digest(image)) {
      return unexpected(CallError::invalid_input("tag", "image already names a tag or digest"));
    }
    req.add_query("tag", t);
  } else if (!has_tag_or_digest(image)) {
    req.add_query("tag", "latest");
  }
  if (auto p = input.find("platform"); p != input.end())
    req.add_query("platform", p->get<std::string>());
  if (auto a = input.find("auth"); a != input.end()) {
    req.headers.emplace_back("X-Registry-Auth", registry_auth(*a));
  }
  return req;
}

class PullHandler : public call::Handler {
 public:
  PullHandler(Services& services, call::CallRequest request, call::CallSink& sink)
      : services_(services), request_(std::move(request)), sink_(sink) {}

  void start() override {
    auto req = pull_request(request_.input);
    if (!req) return sink_.fail(req.error());
    stream_ = services_.docker->stream(
        std::move(req).value(),
        {.on_head = {},
         .on_data = [this](std::string_view bytes) { on_data(bytes); },
         .on_end = [this](std::optional<docker::Error> error) { on_end(std::move(error)); }});
  }

  void on_writable() override {
    if (paused_ && stream_ && sink_.writable()) {
      paused_ = false;
      stream_->resume();
    }
  }

  void cancel() override { stream_.reset(); }

 private:
  void on_data(std::string_view bytes) {
    if (!lines_.push(bytes)) {
      return stop(
          CallError::make(call::codes::kDockerError, "docker sent a line longer than 16 MiB"));
    }
    std::string_view line;
    while (stream_ && lines_.next(line)) on_line(line);
    if (stream_ && !paused_ && !sink_.writable()) {
      paused_ = true;
      stream_->pause();
    }
  }

  void on_end(std::optional<docker::Error> error) {
    if (error) {
      CallError e = to_call_error(*error, Subject::image);
      if (e.code == call::codes::kDockerError && says_not_found(e.message)) {
        e.code = call::codes::kImageNotFound;
      }
      return stop(std::move(e));
    }
    std::string_view line;
    if (lines_.take_last(line)) on_line(line);
    if (!stream_) return;  // the last line was an error
    stream_.reset();
    sink_.complete();
  }

  void on_line(std::string_view text) {
    json line = json::parse(text, nullptr, false);
    if (line.is_discarded() || !line.is_object()) {
      return stop(CallError::make(call::codes::kDockerError,
                                  "docker sent a progress line that is not JSON"));
    }
    if (line.contains("error") || line.contains("errorDetail"))
      return stop(pull_stream_error(line));
    json event = json::object();
    for (const char* key : {"status", "id", "progress"}) {
      if (auto it = line.find(key); it != line.end() && it->is_string()) event[key] = *it;
    }
    if (auto it = line.find("progressDetail");
        it != line.end() && it->is_object() && !it->empty()) {
      event["progressDetail"] = *it;
    }
    if (!event.contains("status")) event["status"] = "";
    sink_.respond(event);
  }

  // Terminal failure; the stream may be the one calling us (the client allows the reset). By
  // value: resetting the stream may free what a reference would point into.
  void stop(CallError error) {  // NOLINT(performance-unnecessary-value-param)
    stream_.reset();
    sink_.fail(error);
  }

  Services& services_;
  call::CallRequest request_;
  call::CallSink& sink_;
  wire::LineSplitter lines_;
  bool paused_ = false;
  std::unique_ptr<docker::BodyStream> stream_;
};

}  // namespace

CallError pull_stream_error(const json& line) {
  std::string message;
  if (auto d = line.find("errorDetail"); d != line.end() && d->is_object()) {
    message = d->value("message", std::string());
  }
  if (message.empty()) {
    if (auto e = line.find("error"); e != line.end() && e->is_string())
      message = e->get<std::string>();
  }
  if (message.empty()) message = "image pull failed";
  CallError error = CallError::make(
      says_not_found(message) ? call::codes::kImageNotFound : call::codes::kDockerError, message);
  error.details = {{"message", message}};
  if (auto d = line.find("errorDetail"); d != line.end()) error.details["errorDetail"] = *d;
  return error;
}

call::OperationSpec pull_op_spec(Services& services) {
  call::OperationSpec spec;
  spec.name = "docker/image/pull";
  spec.kind = call::OpKind::subscription;
  spec.description =
      "Pulls an image: progress events {\"status\",\"id\"?,\"progress\"?,\"progressDetail\"?}, "
      "then call.completed; an error reported inside the daemon's stream is call.error "
      "(IMAGE_NOT_FOUND when the registry has no such image, else DOCKER_ERROR).";
  spec.input_schema = pull_input_schema();
  spec.output_schema = progress_schema();
  spec.scope = "image:pull";
  spec.factory = [&services](const call::CallRequest& request, call::CallSink& sink) {
    return std::make_unique<PullHandler>(services, request, sink);
  };
  return spec;
}

}  // namespace alk::ops

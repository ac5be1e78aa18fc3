// docker/image/{list,inspect,remove} as one-shot ops, plus pull (ops/pull_op.cc).
#include <string>
#include <utility>

#include "ops/image_ref.h"
#include "ops/pull_op.h"
#include "ops/register.h"
#include "ops/simple_op.h"

namespace alk::ops {

namespace {

using call::CallError;
using call::CallRequest;
using nlohmann::json;

json object_schema(json properties, json required = json::array()) {
  json schema = {
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json image_schema() {
  return {{"type", "string"},
          {"minLength", 1},
          {"description", "an image name, name:tag, name@digest or id"}};
}

// "/images/<ref><suffix>" for the checked `image` of `input`.
Result<std::string, CallError> image_path(const json& input, std::string_view suffix) {
  const auto& image = input["image"].get_ref<const std::string&>();
  if (auto bad = check_image_ref(image)) return unexpected(*bad);
  return "/images/" + image + std::string(suffix);
}

SimpleOp list_op() {
  SimpleOp op;
  op.name = "docker/image/list";
  op.description = "Lists images (the daemon's GET /images/json answer).";
  op.input_schema = object_schema(
      {{"all", {{"type", "boolean"}, {"description", "include intermediate images"}}},
       {"digests", {{"type", "boolean"}}},
       {"filters",
        {{"type", "object"},
         {"additionalProperties", {{"type", "array"}, {"items", {{"type", "string"}}}}},
         {"description", "docker filters, e.g. {\"reference\": [\"busybox\"]}"}}}});
  op.output_schema = {{"type", "array"}, {"items", {{"type", "object"}}}};
  op.scope = "image:list";
  op.subject = Subject::image;
  op.request = [](const CallRequest& r) -> Result<docker::Request, CallError> {
    docker::Request req;
    req.path = "/images/json";
    if (r.input.value("all", false)) req.add_query("all", "1");
    if (r.input.value("digests", false)) req.add_query("digests", "1");
    if (auto f = r.input.find("filters"); f != r.input.end() && !f->empty()) {
      req.add_query("filters", f->dump());
    }
    return req;
  };
  return op;
}

SimpleOp inspect_op() {
  SimpleOp op;
  op.name = "docker/image/inspect";
  op.description = "The daemon's inspect JSON of an image; IMAGE_NOT_FOUND when there is none.";
  op.input_schema = object_schema({{"image", image_schema()}}, {"image"});
  op.output_schema = {{"type", "object"}};
  op.scope = "image:inspect";
  op.subject = Subject::image;
  op.request = [](const CallRequest& r) -> Result<docker::Request, CallError> {
    auto path = image_path(r.input, "/json");
    if (!path) return unexpected(path.error());
    docker::Request req;
    req.path = std::move(path).value();
    return req;
  };
  return op;
}

SimpleOp remove_op() {
  SimpleOp op;
  op.name = "docker/image/remove";
  op.kind = call::OpKind::mutation;
  op.description =
      "Removes an image: the daemon's list of {\"Untagged\"} / {\"Deleted\"} entries. "
      "IMAGE_NOT_FOUND when there is none, CONFLICT when a container uses it (unless force).";
  op.input_schema = object_schema(
      {{"image", image_schema()},
       {"force", {{"type", "boolean"}, {"description", "remove even if containers use it"}}},
       {"noprune", {{"type", "boolean"}, {"description", "keep untagged parents"}}}},
      {"image"});
  op.output_schema = {{"type", "array"}, {"items", {{"type", "object"}}}};
  op.scope = "image:remove";
  op.subject = Subject::image;
  op.request = [](const CallRequest& r) -> Result<docker::Request, CallError> {
    auto path = image_path(r.input, "");
    if (!path) return unexpected(path.error());
    docker::Request req;
    req.method = "DELETE";
    req.path = std::move(path).value();
    if (r.input.value("force", false)) req.add_query("force", "1");
    if (r.input.value("noprune", false)) req.add_query("noprune", "1");
    return req;
  };
  return op;
}

}  // namespace

void register_image_ops(call::Registry& registry, Services& services) {
  registry.add(make_simple_op(services, list_op()));
  registry.add(make_simple_op(services, inspect_op()));
  registry.add(make_simple_op(services, remove_op()));
  registry.add(pull_op_spec(services));
}

}  // namespace alk::ops

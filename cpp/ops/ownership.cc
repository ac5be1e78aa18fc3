#include "ops/ownership.h"

#include <cctype>
#include <vector>

#include "ops/docker_errors.h"

namespace alk::ops {

using call::CallError;
using nlohmann::json;

namespace {

// Parses an inspect body keeping only the fields OwnerCheckDone promises: the full DOM of an
// inspect is tens of KiB per call, and with many follows opened at once those transient blocks
// stay in malloc's free lists.
json parse_trimmed_inspect(std::string_view body) {
  std::string top;  // the top-level key whose value is being parsed
  auto keep = [&top](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    const std::string& key = parsed.get_ref<const std::string&>();
    if (depth == 1) {
      top = key;
      return key == "Id" || key == "Config" || key == "State";
    }
    if (depth == 2 && top == "Config") {
      return key == "Tty" || key == "OpenStdin" || key == "StdinOnce" || key == "Labels";
    }
    if (depth == 2 && top == "State") return key == "Status" || key == "Running";
    return true;  // inside Config.Labels
  };
  return json::parse(body, keep, /*allow_exceptions=*/false);
}

bool is_container_ref(std::string_view id) {
  if (!id.empty() && id.front() == '/') id.remove_prefix(1);
  if (id.empty() || id == "." || id == "..") return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

// Runs the wrapped handler once the peer is known to own the container.
class OwnerGate : public call::Handler {
 public:
  OwnerGate(Services& services, call::HandlerFactory factory, call::CallRequest request,
            call::CallSink& sink)
      : services_(services),
        factory_(std::move(factory)),
        request_(std::move(request)),
        sink_(sink) {}

  void start() override {
    if (request_.peer.is_operator) {
      run_inner();
      return;
    }
    auto path = container_path(request_.input);
    if (!path) {
      sink_.fail(path.error());
      return;
    }
    check_ = check_container_owner(services_, request_.peer,
                                   request_.input["containerId"].get<std::string>(),
                                   [this](Result<json, CallError> r) { checked(std::move(r)); });
  }

  void on_writable() override {
    if (inner_) inner_->on_writable();
  }
  void on_stdin(std::string_view bytes) override {
    forward([data = std::string(bytes)](call::Handler& h) { h.on_stdin(data); });
  }
  void on_stdin_end() override {
    forward([](call::Handler& h) { h.on_stdin_end(); });
  }
  void on_control(const json& message) override {
    forward([message](call::Handler& h) { h.on_control(message); });
  }
  void cancel() override {
    cancelled_ = true;
    check_.reset();
    pending_.clear();
    if (inner_) inner_->cancel();
  }

 private:
  void checked(Result<json, CallError> r) {
    if (!r) {
      sink_.fail(r.error());
      return;
    }
    // Pin the operation to the container that was checked, not to a name that could move.
    if (auto id = r.value().find("Id"); id != r.value().end() && id->is_string()) {
      request_.input["containerId"] = *id;
    }
    run_inner();
  }

  void run_inner() {
    inner_ = factory_(request_, sink_);
    inner_->start();
    auto pending = std::move(pending_);
    for (auto& deliver : pending) {
      if (cancelled_) break;
      deliver(*inner_);
    }
  }

  void forward(std::function<void(call::Handler&)> deliver) {
    if (cancelled_) return;
    if (inner_) {
      deliver(*inner_);
    } else {
      pending_.push_back(std::move(deliver));
    }
  }

  Services& services_;
  call::HandlerFactory factory_;
  call::CallRequest request_;
  call::CallSink& sink_;
  std::unique_ptr<docker::RequestHandle> check_;
  std::unique_ptr<call::Handler> inner_;
  std::vector<std::function<void(call::Handler&)>> pending_;
  bool cancelled_ = false;
};

}  // namespace

json container_id_schema() {
  return {
      {"type", "string"}, {"minLength", 1}, {"description", "a container id, id prefix or name"}};
}

Result<std::string, CallError> container_path(const json& input, std::string_view suffix) {
  auto it = input.find("containerId");
  if (it == input.end() || !it->is_string()) {
    return unexpected(CallError::invalid_input("containerId", "is required"));
  }
  const auto& id = it->get_ref<const std::string&>();
  if (!is_container_ref(id)) {
    return unexpected(CallError::invalid_input(
        "containerId", "must be a container id or name ([A-Za-z0-9_.-], optional leading '/')"));
  }
  std::string path = "/containers/";
  path += id.front() == '/' ? id.substr(1) : id;
  path += suffix;
  return path;
}

std::string owner_label(const Services& services, const call::Peer& peer) {
  return services.label_prefix + ".owner=" + peer.id;
}

bool may_touch(const Services& services, const call::Peer& peer, const json& inspect) {
  if (peer.is_operator) return true;
  const json* labels = nullptr;
  if (auto config = inspect.find("Config"); config != inspect.end() && config->is_object()) {
    if (auto l = config->find("Labels"); l != config->end() && l->is_object()) labels = &*l;
  }
  if (!labels) return false;
  auto owner = labels->find(services.label_prefix + ".owner");
  return owner != labels->end() && owner->is_string() && *owner == peer.id;
}

CallError not_owner_error(std::string_view container_id) {
  return CallError::make(call::codes::kForbidden,
                         "not owner of resource: container/" + std::string(container_id));
}

void add_label_filter(json& filters, const std::string& label) {
  json& labels = filters["label"];
  if (!labels.is_array()) labels = json::array();
  labels.push_back(label);
}

std::unique_ptr<docker::RequestHandle> check_container_owner(Services& services,
                                                             const call::Peer& peer,
                                                             std::string container_id,
                                                             OwnerCheckDone done) {
  docker::Request req;
  auto path = container_path(json{{"containerId", container_id}}, "/json");
  // An id that skipped container_path() still cannot leave its path segment: encoded whole, it
  // names no container and the daemon answers 404.
  req.path = path ? std::move(path).value()
                  : "/containers/" + docker::percent_encode(container_id) + "/json";
  return services.docker->send(
      std::move(req), [&services, peer, id = std::move(container_id),
                       done = std::move(done)](Result<docker::Response, docker::Error> r) {
        // `done` may destroy the handle, and with it this closure: work on copies.
        const OwnerCheckDone finish = done;
        if (!r) return finish(unexpected(to_call_error(r.error(), Subject::container)));
        if (!r.value().ok()) {
          // No existence oracle: a non-operator is told the same about a container that does
          // not exist (404) or that an id prefix does not single out (4xx) as about another
          // peer's container.
          const int status = r.value().status;
          if (!peer.is_operator && status >= 400 && status < 500) {
            return finish(unexpected(not_owner_error(id)));
          }
          return finish(unexpected(to_call_error(r.value(), Subject::container)));
        }
        json inspect = parse_trimmed_inspect(r.value().body);
        if (inspect.is_discarded() || !inspect.is_object()) {
          return finish(unexpected(CallError::internal("docker answered invalid JSON")));
        }
        if (!may_touch(services, peer, inspect)) return finish(unexpected(not_owner_error(id)));
        finish(std::move(inspect));
      });
}

call::OperationSpec gate_on_owner(Services& services, call::OperationSpec spec) {
  spec.factory = [&services, inner = std::move(spec.factory)](const call::CallRequest& request,
                                                              call::CallSink& sink) {
    return std::make_unique<OwnerGate>(services, inner, request, sink);
  };
  return spec;
}

}  // namespace alk::ops

#include "ops/simple_op.h"

#include <algorithm>
#include <memory>

#include "ops/declared_op.h"

namespace alk::ops {

namespace {

class SimpleHandler : public call::Handler {
 public:
  SimpleHandler(Services& services, std::shared_ptr<const SimpleOp> op, call::CallRequest request,
                call::CallSink& sink)
      : services_(services), op_(std::move(op)), request_(std::move(request)), sink_(sink) {}

  void start() override {
    auto built = op_->request(request_);
    if (!built) {
      sink_.fail(built.error());
      return;
    }
    inflight_ = services_.docker->send(
        std::move(built).value(),
        [this](const Result<docker::Response, docker::Error>& r) { finish(r); });
  }

  void cancel() override { inflight_.reset(); }

 private:
  void finish(const Result<docker::Response, docker::Error>& r) {
    if (!r) {
      sink_.fail(to_call_error(r.error(), op_->subject));
      return;
    }
    const docker::Response& resp = r.value();
    const bool ok = resp.ok() || std::find(op_->also_ok.begin(), op_->also_ok.end(), resp.status) !=
                                     op_->also_ok.end();
    if (!ok) {
      call::CallError e = to_call_error(resp, op_->subject);
      // A name conflict on create names another peer's container: not for non-operators.
      if (request_.operation == "docker/container/create") {
        e = create_error_for(request_.peer.is_operator, std::move(e));
      }
      sink_.fail(e);
      return;
    }
    auto out = op_->output ? op_->output(resp, request_) : body_as_json(resp);
    if (out) {
      sink_.respond(out.value());
    } else {
      sink_.fail(out.error());
    }
  }

  Services& services_;
  std::shared_ptr<const SimpleOp> op_;
  call::CallRequest request_;
  call::CallSink& sink_;
  std::unique_ptr<docker::RequestHandle> inflight_;
};

}  // namespace

Result<nlohmann::json, call::CallError> body_as_json(const docker::Response& r) {
  if (r.body.empty()) return nlohmann::json(nullptr);
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    return unexpected(call::CallError::internal("docker answered invalid JSON"));
  return j;
}

call::OperationSpec make_simple_op(Services& services, SimpleOp op) {
  const call::OpKind kind = op.kind;
  return declared_op_spec<SimpleHandler>(services, std::move(op), kind);
}

}  // namespace alk::ops

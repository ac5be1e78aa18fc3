// The spec of an operation declared as data (SimpleOp, JsonLinesOp): its name, description,
// schemas and scope copied from the declaration, and a factory that gives every call its own
// handler over one shared, immutable copy of the declaration.
#pragma once
#include <memory>
#include <utility>

#include "call/operation.h"
#include "ops/services.h"

namespace alk::ops {

/// Returns the spec of `op` run by `Handler`, constructed per call as
/// `Handler(services, shared_op, request, sink)`. `services` must outlive the spec and every
/// handler it makes (the engine owns both).
template <class Handler, class Op>
call::OperationSpec declared_op_spec(Services& services, Op op, call::OpKind kind) {
  call::OperationSpec spec;
  spec.name = op.name;
  spec.kind = kind;
  spec.description = op.description;
  spec.input_schema = op.input_schema;
  spec.output_schema = op.output_schema;
  spec.scope = op.scope;
  auto shared = std::make_shared<const Op>(std::move(op));
  spec.factory = [&services, shared](const call::CallRequest& request, call::CallSink& sink) {
    return std::make_unique<Handler>(services, shared, request, sink);
  };
  return spec;
}

}  // namespace alk::ops

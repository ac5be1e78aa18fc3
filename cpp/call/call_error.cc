#include "call/call_error.h"

namespace alk::call {

nlohmann::json CallError::to_payload() const {
  nlohmann::json p = {{"code", code}, {"message", message}, {"retryable", retryable}};
  if (!details.is_null()) p["details"] = details;
  return p;
}

CallError CallError::from_payload(const nlohmann::json& payload) {
  CallError e;
  if (!payload.is_object() || !payload.contains("code") || !payload["code"].is_string()) {
    e.code = codes::kInternal;
    e.message = "malformed call.error payload: " +
                payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return e;
  }
  e.code = payload["code"].get<std::string>();
  if (auto m = payload.find("message"); m != payload.end() && m->is_string()) e.message = *m;
  if (auto r = payload.find("retryable"); r != payload.end() && r->is_boolean()) e.retryable = *r;
  if (auto d = payload.find("details"); d != payload.end()) e.details = *d;
  return e;
}

CallError CallError::make(std::string_view code, std::string message, bool retryable) {
  CallError e;
  e.code = code;
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

CallError CallError::operation_not_found(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  return make(codes::kNotFound, "operation not found: " + std::string(name));
}

CallError CallError::invalid_input(std::string_view field, std::string_view problem) {
  CallError e = make(codes::kInvalidInput, std::string(field) + ": " + std::string(problem));
  e.details = {{"field", field}};
  return e;
}

CallError CallError::internal(std::string message) {
  return make(codes::kInternal, std::move(message));
}

}  // namespace alk::call

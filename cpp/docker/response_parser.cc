#include "docker/response_parser.h"

namespace alk::docker::detail {

namespace {

ResponseParser* self(llhttp_t* p) {
  return static_cast<ResponseParser*>(p->data);
}

}  // namespace

// One table of callbacks for every parser (184 bytes each would hold the same pointers).
const llhttp_settings_t& ResponseParser::settings() {
  static const llhttp_settings_t table = [] {
    llhttp_settings_t t{};
    llhttp_settings_init(&t);
    t.on_message_begin = &ResponseParser::on_message_begin;
    t.on_header_field = &ResponseParser::on_header_field;
    t.on_header_value = &ResponseParser::on_header_value;
    t.on_header_value_complete = &ResponseParser::on_header_value_complete;
    t.on_headers_complete = &ResponseParser::on_headers_complete;
    t.on_body = &ResponseParser::on_body_cb;
    t.on_message_complete = &ResponseParser::on_message_complete;
    return t;
  }();
  return table;
}

ResponseParser::ResponseParser(Sink& sink) : sink_(sink) {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;
}

static_assert(ResponseParser::kMaxHeadBytes == 65536, "the error text names the limit");

ResponseParser::Outcome ResponseParser::feed(std::string_view bytes) {
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  // llhttp computes data + len: never from a null pointer (an empty view may have one).
  if (bytes.data() == nullptr) bytes = std::string_view("");
  const llhttp_errno_t err = llhttp_execute(&parser_, bytes.data(), bytes.size());
  Outcome out;
  switch (err) {
    case HPE_OK:
      out.consumed = bytes.size();
      return out;
    case HPE_PAUSED:
      out.consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - bytes.data());
      out.status = complete_ ? Status::complete : Status::paused;
      return out;
    case HPE_PAUSED_UPGRADE:
      out.consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - bytes.data());
      out.status = Status::upgraded;
      return out;
    default:
      return fail(head_too_large_ ? "response head larger than 65536 bytes"
                                  : llhttp_get_error_reason(&parser_));
  }
}

ResponseParser::Outcome ResponseParser::finish() {
  if (complete_) return Outcome{Status::complete, 0, {}};
  if (!started_) return fail("connection closed before a response");
  if (llhttp_get_errno(&parser_) != HPE_OK) return fail("connection closed mid-response");
  const llhttp_errno_t err = llhttp_finish(&parser_);
  if ((err == HPE_OK || err == HPE_PAUSED) && complete_) return Outcome{Status::complete, 0, {}};
  return fail(head_done_ ? "connection closed before the end of the body"
                         : "connection closed before the end of the headers");
}

ResponseParser::Outcome ResponseParser::fail(const char* reason) {
  Outcome out;
  out.status = Status::error;
  out.error = reason != nullptr ? reason : "invalid HTTP response";
  return out;
}

int ResponseParser::on_message_begin(llhttp_t* p) {
  self(p)->started_ = true;
  return 0;
}

bool ResponseParser::count_head(size_t n) {
  head_bytes_ += n;
  if (head_bytes_ <= kMaxHeadBytes) return true;
  head_too_large_ = true;
  return false;
}

int ResponseParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  ResponseParser* s = self(p);
  if (!s->count_head(len)) return -1;
  s->field_.append(at, len);
  return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  ResponseParser* s = self(p);
  if (!s->count_head(len)) return -1;
  s->value_.append(at, len);
  return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* p) {
  ResponseParser* s = self(p);
  if (!s->count_head(32)) return -1;
  s->head_.headers.emplace_back(std::move(s->field_), std::move(s->value_));
  s->field_.clear();
  s->value_.clear();
  return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  ResponseParser* s = self(p);
  const int status = llhttp_get_status_code(p);
  if (status >= 100 && status < 200 && status != 101) {
    // An interim answer (100 Continue): drop it and wait for the real one. It has no body
    // whatever its headers say (1 tells llhttp so): a Content-Length on it must not hand the
    // sink body bytes before any head.
    s->head_ = Response{};
    s->head_bytes_ = 0;
    return 1;
  }
  s->head_.status = status;
  s->head_done_ = true;
  switch (s->sink_.on_head(s->head_)) {
    case HeadAction::body:
      return 0;
    case HeadAction::upgrade:
      s->upgrade_ = true;
      return 2;
    case HeadAction::pause:
      return HPE_PAUSED;
  }
  return 0;
}

int ResponseParser::on_body_cb(llhttp_t* p, const char* at, size_t len) {
  return self(p)->sink_.on_body(std::string_view(at, len)) ? 0 : HPE_PAUSED;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  ResponseParser* s = self(p);
  if (!s->head_done_) return 0;  // the end of an interim answer
  if (s->upgrade_) return 0;     // llhttp reports HPE_PAUSED_UPGRADE next
  s->complete_ = true;
  s->keep_alive_ = llhttp_should_keep_alive(p) != 0;
  // Stop at the message end: whatever follows is not ours to parse.
  return HPE_PAUSED;
}

}  // namespace alk::docker::detail

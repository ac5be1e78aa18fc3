// An incremental HTTP/1.1 response parser over llhttp: head, de-chunked body pieces, message end,
// and the switch to raw bytes for a hijacked connection.
#pragma once

#include <llhttp.h>

#include <string>
#include <string_view>

#include "docker/http_types.h"

namespace alk::docker::detail {

/// Parses one response per reset(). The sink's callbacks run inside feed()/finish().
class ResponseParser {
 public:
  /// The most a response head may hold: each header's name and value plus 32 bytes (the
  /// per-field overhead HTTP/2 counts in SETTINGS_MAX_HEADER_LIST_SIZE). Docker's heads are well
  /// under 1 KiB; a peer that sends more gets an `error`, not unbounded memory.
  static constexpr size_t kMaxHeadBytes = 64u << 10;

  /// What to do once the head is complete.
  enum class HeadAction {
    body,     ///< parse the body that follows
    upgrade,  ///< the bytes after the head are raw (hijack): feed() returns `upgraded`
    pause,    ///< stop here; the next feed() continues with the body
  };

  class Sink {
   public:
    /// The status and headers; `head.body` is empty. The sink may move the head out.
    virtual HeadAction on_head(Response& head) = 0;
    /// A piece of the de-chunked body, valid during the call. Returns false to pause the parser
    /// right after this piece.
    virtual bool on_body(std::string_view piece) = 0;

   protected:
    ~Sink() = default;
  };

  enum class Status {
    more,      ///< every byte consumed, the message is unfinished
    paused,    ///< the sink paused; `consumed` bytes were parsed
    complete,  ///< the message ended after `consumed` bytes
    upgraded,  ///< the head ended after `consumed` bytes; the rest is raw
    error,     ///< invalid HTTP, or a head over kMaxHeadBytes (`error` names it); sticky
  };
  struct Outcome {
    Status status = Status::more;
    size_t consumed = 0;
    std::string error;
  };

  explicit ResponseParser(Sink& sink);
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  /// Parses `bytes`, resuming after a pause.
  Outcome feed(std::string_view bytes);
  /// The peer closed the connection: completes a read-until-EOF body. `complete` when the message
  /// ended cleanly; `error` when it was cut short, or when no response began at all (`started()`
  /// tells those apart).
  Outcome finish();

  /// True once the first byte of the status line was parsed.
  bool started() const { return started_; }
  /// True once the head was handed to the sink.
  bool head_done() const { return head_done_; }
  /// Whether the connection may carry another request after a complete message.
  bool keep_alive() const { return keep_alive_; }

 private:
  static const llhttp_settings_t& settings();  // the callbacks below, shared by every parser
  static int on_message_begin(llhttp_t* p);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body_cb(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);

  Outcome fail(const char* reason);
  // Counts `n` more bytes of the head; false (and `head_too_large_`) past kMaxHeadBytes.
  bool count_head(size_t n);

  Sink& sink_;
  llhttp_t parser_{};
  Response head_;
  std::string field_;
  std::string value_;
  size_t head_bytes_ = 0;
  bool head_too_large_ = false;
  bool started_ = false;
  bool head_done_ = false;
  bool complete_ = false;
  bool upgrade_ = false;
  bool keep_alive_ = false;
};

}  // namespace alk::docker::detail

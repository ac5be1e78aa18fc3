// Fuzzes the HTTP response parser that reads the daemon's answers: any split of the bytes gives
// the same outcome as one feed (status, head, de-chunked body, where the message ends), whatever
// the sink does with the head (body, upgrade, pause) and however often it pauses the body;
// errors are sticky.
#include <string>
#include <vector>

#include "docker/response_parser.h"
#include "fuzz_util.h"

namespace {

using alk::docker::Response;
using alk::docker::detail::ResponseParser;

struct Sink final : ResponseParser::Sink {
  ResponseParser::HeadAction action = ResponseParser::HeadAction::body;
  size_t pause_every = 0;  // pause after each this many body bytes (0: never)
  int heads = 0;
  Response head;
  std::string body;
  size_t since_pause = 0;

  ResponseParser::HeadAction on_head(Response& h) override {
    FUZZ_CHECK(heads == 0);
    ++heads;
    head = h;
    return action;
  }
  bool on_body(std::string_view piece) override {
    FUZZ_CHECK(heads == 1);
    body.append(piece);
    since_pause += piece.size();
    if (pause_every == 0 || since_pause < pause_every) return true;
    since_pause = 0;
    return false;
  }
};

struct Outcome {
  ResponseParser::Status status = ResponseParser::Status::more;
  size_t consumed = 0;  // bytes of the stream taken before the parser stopped
  std::string error;
  int heads = 0;
  int code = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool finished = false;  // the stream ended with the message unfinished: finish() ran
};

Outcome parse(const std::vector<std::string>& pieces, ResponseParser::HeadAction action,
              size_t pause_every) {
  Sink sink;
  sink.action = action;
  sink.pause_every = pause_every;
  ResponseParser p(sink);
  Outcome o;
  size_t base = 0;
  bool stopped = false;
  for (const std::string& piece : pieces) {
    size_t off = 0;
    while (!stopped) {
      const auto out = p.feed(std::string_view(piece).substr(off));
      FUZZ_CHECK(out.consumed <= piece.size() - off);
      off += out.consumed;
      o.status = out.status;
      if (out.status == ResponseParser::Status::paused) {
        // A pause that took nothing with bytes left would loop for ever.
        FUZZ_CHECK(out.consumed > 0 || off == piece.size() || sink.pause_every > 0 ||
                   action == ResponseParser::HeadAction::pause);
        if (off == piece.size()) break;
        continue;
      }
      if (out.status == ResponseParser::Status::more) {
        FUZZ_CHECK(off == piece.size());
        break;
      }
      stopped = true;
      o.error = out.error;
      FUZZ_CHECK((out.status == ResponseParser::Status::error) == !out.error.empty());
    }
    if (stopped) {
      o.consumed = base + off;
      break;
    }
    base += piece.size();
  }
  // Bytes all fed (and all taken): a pause at the very end leaves the message end pending; empty
  // feeds take it.
  if (!stopped) o.consumed = base;
  for (int i = 0; !stopped && o.status == ResponseParser::Status::paused && i < 1000; ++i) {
    const auto out = p.feed(std::string_view());
    o.status = out.status;
    o.error = out.error;
    if (out.status != ResponseParser::Status::paused)
      stopped = out.status != ResponseParser::Status::more;
  }
  if (!stopped) {
    if (o.status == ResponseParser::Status::more) {
      const auto out = p.finish();
      o.status = out.status;
      o.error = out.error;
      o.finished = true;
    }
  } else if (o.status == ResponseParser::Status::error) {
    // Sticky: nothing after an error parses.
    FUZZ_CHECK(p.feed("HTTP/1.1 200 OK\r\n\r\n").status == ResponseParser::Status::error);
  }
  o.heads = sink.heads;
  o.code = sink.head.status;
  o.headers = sink.head.headers;
  o.body = std::move(sink.body);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > alk::fuzz::kMaxInputBytes) return 0;
  FuzzedDataProvider fdp(data, size);
  const auto action = static_cast<ResponseParser::HeadAction>(fdp.ConsumeIntegralInRange(0, 2));
  const size_t pause_every = fdp.ConsumeIntegralInRange<size_t>(0, 64);
  const std::vector<std::string> pieces = alk::fuzz::consume_pieces(fdp);
  const std::string stream = alk::fuzz::join(pieces);

  const Outcome split = parse(pieces, action, pause_every);
  const Outcome whole = parse({stream}, action, pause_every);
  FUZZ_CHECK(split.status == whole.status);
  FUZZ_CHECK(split.error == whole.error);
  FUZZ_CHECK(split.heads == whole.heads);
  FUZZ_CHECK(split.code == whole.code);
  FUZZ_CHECK(split.headers == whole.headers);
  FUZZ_CHECK(split.body == whole.body);
  FUZZ_CHECK(split.finished == whole.finished);
  if (split.status != ResponseParser::Status::error) FUZZ_CHECK(split.consumed == whole.consumed);
  FUZZ_CHECK(split.consumed <= stream.size());
  if (split.heads == 0) FUZZ_CHECK(split.body.empty());
  return 0;
}

#include "ops/output_pump.h"

#include <algorithm>
#include <cctype>

namespace alk::ops {

namespace {

constexpr size_t kMaxSystemError = size_t{64} * 1024;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

}  // namespace

bool stream_is_tty(const docker::Client& client, const docker::Response& head,
                   bool tty_from_config) {
  // Daemons before API 1.42 send raw-stream for multiplexed bodies too: the header means nothing.
  if (client.api_at_least("1.42")) {
    if (const std::string* type = head.header("Content-Type")) {
      if (starts_with_nocase(*type, "application/vnd.docker.multiplexed-stream")) return false;
      if (starts_with_nocase(*type, "application/vnd.docker.raw-stream")) return true;
    }
  }
  return tty_from_config;
}

nlohmann::json output_event_schema() {
  return {{"type", "object"},
          {"required", {"stream"}},
          {"properties",
           {{"stream", {{"type", "string"}, {"enum", {"stdout", "stderr"}}}},
            {"text", {{"type", "string"}, {"description", "the bytes, when they are UTF-8"}}},
            {"base64", {{"type", "string"}, {"description", "the bytes, when they are not UTF-8"}}},
            {"timestamp", {{"type", "string"}, {"description", "RFC 3339, when asked for"}}}}}};
}

OutputPump::OutputPump(call::CallSink& sink, OutputPumpOptions options)
    : sink_(sink), options_(options) {}

void OutputPump::set_source(docker::BodyStream* source) {
  source_ = source;
  if (!source_) paused_ = false;
}

bool OutputPump::feed(std::string_view bytes) {
  if (failed_) return false;
  if (options_.tty) {
    if (options_.raw_chunks) {
      if (!bytes.empty()) sink_.send_chunk(out_.chunk_type, bytes);
      bytes_emitted_ += bytes.size();
    } else if (options_.timestamps) {
      feed_tty_lines(bytes);
    } else {
      emit(out_, bytes, false);
    }
  } else if (!decoder_.feed(bytes, [this](const docker::MuxPiece& p) { on_piece(p); })) {
    failed_ = true;
    error_ = std::string("docker stream framing: ") + docker::describe(decoder_.error());
  }
  if (failed_) return false;
  apply_backpressure();
  return true;
}

bool OutputPump::finish() {
  if (failed_) return false;
  bool ok = true;
  if (!options_.tty && decoder_.partial()) {
    ok = false;
    error_ = "docker stream ended inside a frame";
  }
  if (!pending_.empty() && pending_of_) emit(*pending_of_, pending_, !pending_started_);
  pending_.clear();
  pending_started_ = false;
  pending_of_ = nullptr;
  for (StreamState* s : {&out_, &err_}) {
    const std::string rest = s->joiner.take_rest();
    if (!rest.empty()) emit_text(*s, rest, {});
  }
  return ok;
}

void OutputPump::on_writable() {
  if (!paused_ || !sink_.writable()) return;
  paused_ = false;
  if (source_) source_->resume();
}

OutputPump::StreamState& OutputPump::state_of(docker::MuxStream s) {
  // Docker's own demuxer (stdcopy) writes stdin-typed frames to stdout.
  return s == docker::MuxStream::stderr_data ? err_ : out_;
}

void OutputPump::on_piece(const docker::MuxPiece& piece) {
  if (failed_) return;
  if (piece.stream == docker::MuxStream::system_err) {
    system_error_.append(
        piece.data.substr(0, kMaxSystemError - std::min(kMaxSystemError, system_error_.size())));
    if (piece.frame_end) {
      failed_ = true;
      error_ = "docker: " + system_error_;
    }
    return;
  }
  StreamState& s = state_of(piece.stream);
  if (options_.raw_chunks) {
    if (!piece.data.empty()) sink_.send_chunk(s.chunk_type, piece.data);
    bytes_emitted_ += piece.data.size();
    return;
  }
  // A frame that arrived whole goes out from the read buffer; only split frames are copied.
  if (piece.frame_end && pending_.empty()) {
    emit(s, piece.data, !pending_started_);
    pending_started_ = false;
    return;
  }
  pending_.append(piece.data);
  pending_of_ = &s;
  if (piece.frame_end || pending_.size() >= options_.max_event_bytes) {
    emit(s, pending_, !pending_started_);
    pending_.clear();
    pending_started_ = !piece.frame_end;
    pending_of_ = piece.frame_end ? nullptr : &s;
  }
}

void OutputPump::feed_tty_lines(std::string_view bytes) {
  // Docker prefixes each log line of a TTY container with its timestamp.
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      pending_.append(bytes);
      pending_of_ = &out_;
      if (pending_.size() >= options_.max_event_bytes) {
        emit(out_, pending_, !pending_started_);
        pending_.clear();
        pending_started_ = true;
      }
      return;
    }
    const std::string_view line = bytes.substr(0, nl + 1);
    bytes.remove_prefix(nl + 1);
    if (pending_.empty()) {
      emit(out_, line, !pending_started_);
    } else {
      pending_.append(line);
      emit(out_, pending_, !pending_started_);
      pending_.clear();
    }
    pending_started_ = false;
    pending_of_ = nullptr;
  }
}

void OutputPump::emit(StreamState& s, std::string_view bytes, bool first_part) {
  std::string_view timestamp;
  std::string_view text = bytes;
  if (options_.timestamps && first_part) split_timestamp(bytes, timestamp, text);
  emit_text(s, s.joiner.push(text), timestamp);
}

void OutputPump::emit_text(StreamState& s, std::string_view text, std::string_view timestamp) {
  if (text.empty() && timestamp.empty()) return;
  if (!sink_.respond_output_event(s.name, text, timestamp)) {
    event_.clear();
    append_output_event(event_, s.name, text, timestamp);
    sink_.respond_json_text(event_);
  }
  bytes_emitted_ += text.size();
}

void OutputPump::apply_backpressure() {
  if (paused_ || !source_ || sink_.writable()) return;
  paused_ = true;
  source_->pause();
}

}  // namespace alk::ops

#include "transport/quic/quic_stream.h"

#include <algorithm>

#include "transport/quic/quic_link.h"

namespace alk::transport::quic {

QuicStream::QuicStream(QuicLink& link, int64_t id, std::string peer_description)
    : link_(link), id_(id), peer_(std::move(peer_description)) {}

QuicStream::~QuicStream() = default;

void QuicStream::adopt_receiver(std::unique_ptr<StreamReceiver> receiver) {
  receiver_ = receiver.get();
  owned_receiver_ = std::move(receiver);
}

void QuicStream::write(std::string bytes) {
  if (reset_ || finished_ || release_requested_ || bytes.empty()) return;
  link_.conn().stream_write(id_, std::move(bytes));
  after_queueing();
}

void QuicStream::append(std::string_view bytes) {
  append(bytes, {});
}

void QuicStream::append(std::string_view head, std::string_view body) {
  if (reset_ || finished_ || release_requested_ || head.size() + body.size() == 0) return;
  link_.conn().stream_append(id_, head);  // an empty view is ignored
  link_.conn().stream_append(id_, body);
  after_queueing();
}

void QuicStream::after_queueing() {
  if (queued_bytes() > kHighWater) congested_ = true;
  link_.schedule();
}

size_t QuicStream::queued_bytes() const {
  // Everything not yet acknowledged: memory stays bounded by what the handler queued.
  return released_ ? 0 : link_.conn().stream_unacked(id_);
}

void QuicStream::finish() {
  if (reset_ || finished_ || release_requested_) return;
  finished_ = true;
  link_.conn().stream_finish(id_);
  link_.schedule();
}

void QuicStream::reset() {
  if (release_requested_) return;
  reset_ = true;
  link_.conn().stream_reset(id_, kStreamCancelled);
  request_release();
}

void QuicStream::pause_reading() {
  paused_ = true;
}

void QuicStream::resume_reading() {
  paused_ = false;
  // Never deliver from inside the caller: on a later turn, like a socket read.
  if (!release_requested_) link_.schedule_delivery(id_);
}

void QuicStream::on_readable() {
  delivery_queued_ = false;
  while (!paused_ && !release_requested_ && receiver_) {
    // In place, no copy. Only what the receiver took is consumed and credited to the peer: bytes
    // left by a receiver that paused wait here, and hold the peer back.
    const std::string_view avail = link_.conn().stream_peek(id_);
    if (avail.empty()) break;
    const size_t took = std::min(receiver_->on_bytes(avail), avail.size());
    link_.conn().stream_consume(id_, took);
    if (took > 0) link_.schedule();  // the credit just returned goes out as MAX_STREAM_DATA
    if (took < avail.size()) break;
  }
  if (!paused_ && !release_requested_ && receiver_ && !fin_delivered_ &&
      link_.conn().stream_at_eof(id_)) {
    fin_delivered_ = true;
    receiver_->on_fin();
  }
  maybe_done();
}

void QuicStream::on_peer_reset(uint64_t code) {
  if (release_requested_ || reset_) return;
  reset_ = true;
  if (code == kStreamRefused) {
    failure_ = "the server refused the call (it is shutting down)";
  } else {
    failure_ =
        link_.conn().is_server() ? "the client cancelled the call" : "the server reset the call";
  }
  link_.conn().stream_reset(id_, kStreamCancelled);
  if (receiver_) receiver_->on_reset();
  request_release();
}

void QuicStream::on_acked() {
  if (!congested_ || release_requested_ || queued_bytes() > kLowWater) return;
  congested_ = false;
  if (receiver_) receiver_->on_drain();
}

void QuicStream::on_transport_closed(uint64_t code) {
  transport_closed_ = true;
  if (code != 0 && !reset_) {
    on_peer_reset(code);
    return;
  }
  maybe_done();
}

void QuicStream::on_connection_ended(const CloseInfo& why) {
  if (release_requested_) return;
  if (failure_.empty()) {
    failure_ = why.message;
    failure_retryable_ = why.retryable();
    failure_forbidden_ = why.certificate_refused();
  }
  const bool was_reset = reset_;
  reset_ = true;
  if (!was_reset && receiver_) receiver_->on_reset();
  request_release();
}

void QuicStream::maybe_done() {
  // A normal end: both directions finished and acknowledged, and the FIN was delivered.
  if (transport_closed_ && fin_delivered_ && !release_requested_) request_release();
}

void QuicStream::request_release() {
  if (release_requested_) return;
  release_requested_ = true;
  link_.schedule();
}

void QuicStream::release() {
  if (released_) return;
  released_ = true;
  if (receiver_) receiver_->on_closed();
  receiver_ = nullptr;
  owned_receiver_.reset();
}

}  // namespace alk::transport::quic

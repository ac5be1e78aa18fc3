// A ByteStream over one bidirectional QUIC stream: the transport side of one call. Same contract
// as UvByteStream (unix sockets): queued writes with high/low water and on_drain, finish() = FIN
// after the queued bytes, reset() = RESET_STREAM + STOP_SENDING, and pause_reading() stops
// returning flow-control credit, so a consumer that does not read stops the peer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "transport/byte_stream.h"
#include "transport/quic/quic_connection.h"

namespace alk::transport::quic {

class QuicLink;

/// Owned by its QuicLink, which releases it (StreamReceiver::on_closed, then destruction) on a
/// later loop turn once both directions are done, either side reset it, or the connection ended.
class QuicStream final : public ByteStream {
 public:
  QuicStream(QuicLink& link, int64_t id, std::string peer_description);
  ~QuicStream() override;
  QuicStream(const QuicStream&) = delete;
  QuicStream& operator=(const QuicStream&) = delete;

  /// Makes the stream own `receiver` (destroyed right after on_closed).
  void adopt_receiver(std::unique_ptr<StreamReceiver> receiver);
  int64_t id() const { return id_; }

  /// Why the stream broke when it did not end normally ("connection closed by the server: …").
  const std::string& failure() const { return failure_; }
  /// Whether a new attempt may work after that failure (false for TLS refusals).
  bool failure_retryable() const { return failure_retryable_; }
  /// The failure is the peer refusing our certificate (an authentication failure).
  bool failure_forbidden() const { return failure_forbidden_; }

  // ByteStream
  void set_receiver(StreamReceiver* receiver) override { receiver_ = receiver; }
  void write(std::string bytes) override;
  void append(std::string_view bytes) override;
  void append(std::string_view head, std::string_view body) override;
  size_t queued_bytes() const override;
  void finish() override;
  void reset() override;
  void pause_reading() override;
  void resume_reading() override;
  std::string describe_peer() const override { return peer_; }

  // ---- driven by the QuicLink (never from inside ngtcp2, never from a ByteStream method) ----

  /// Marks the stream as waiting in the link's delivery queue: false when it already was, so
  /// the link queues each stream once per batch.
  bool mark_delivery_queued() { return !std::exchange(delivery_queued_, true); }
  /// Delivers received bytes (in pieces) and the FIN, unless paused; takes the stream off the
  /// delivery queue first, so a receiver that resumes from here is queued again.
  void on_readable();
  /// The peer reset or stopped the stream: on_reset, then release.
  void on_peer_reset(uint64_t code);
  /// Acknowledgements arrived: on_drain when the queue fell to the low-water mark.
  void on_acked();
  /// The transport finished the stream (`code` != 0: it was reset with that code).
  void on_transport_closed(uint64_t code);
  /// The connection ended (`why`): on_reset (unless the call already ended), then release.
  void on_connection_ended(const CloseInfo& why);
  /// True once the stream can be released (see the class comment).
  bool releasable() const { return release_requested_; }
  /// Calls on_closed and drops the receiver; the link frees the stream right after.
  void release();

 private:
  void after_queueing();  // congestion bookkeeping and a send on the next turn
  void request_release();
  void maybe_done();

  QuicLink& link_;
  int64_t id_;
  std::string peer_;
  StreamReceiver* receiver_ = nullptr;
  std::unique_ptr<StreamReceiver> owned_receiver_;
  std::string failure_;
  bool failure_retryable_ = true;
  bool failure_forbidden_ = false;
  bool paused_ = false;
  bool finished_ = false;       // finish() called
  bool reset_ = false;          // reset by either side, or the connection ended
  bool fin_delivered_ = false;  // on_fin delivered
  bool transport_closed_ = false;
  bool congested_ = false;
  bool release_requested_ = false;
  bool released_ = false;
  bool delivery_queued_ = false;  // waiting in the link's delivery queue
};

}  // namespace alk::transport::quic

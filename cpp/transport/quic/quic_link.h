// A QuicConnection on a libuv loop: its expiry timer, the deferred write (once per loop turn, so
// ACKs of a whole recvmmsg batch coalesce), the deferred delivery of received bytes (once per read
// batch), event dispatch to its QuicStreams, and their release on a clean stack. The UDP socket
// belongs to the owner (QuicServer: one for many links; QuicClient: one per link).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/quic/quic_connection.h"
#include "transport/quic/quic_stream.h"

namespace alk::transport::quic {

class QuicLink;

/// The owner of links: the socket, and what the link reports.
class LinkOwner {
 public:
  virtual ~LinkOwner() = default;
  /// Sends one datagram, or copies it into the socket's queue. Returns false when the socket is
  /// backed up: the link stops writing for this loop turn.
  virtual bool send_datagram(const SocketAddress& to, const uint8_t* data, size_t len) = 0;
  /// Sends `len` bytes as datagrams of `segment` bytes each (the last one may be shorter), all to
  /// `to` — with one sendmsg and UDP GSO where the socket allows it (see udp_send_segments). The
  /// default sends them one by one with send_datagram. Same return value as send_datagram.
  virtual bool send_segments(const SocketAddress& to, const uint8_t* data, size_t len,
                             size_t segment);
  /// The TLS handshake finished (server: the client is authenticated; see conn().peer_id()).
  virtual void on_link_handshake(QuicLink& link) = 0;
  /// The peer opened stream `id`: accept it with link.add_stream() or refuse it with
  /// link.refuse_stream().
  virtual void on_link_peer_stream(QuicLink& link, int64_t id) = 0;
  /// Client: the peer allows more streams now.
  virtual void on_link_streams_available(QuicLink&) {}
  /// A stream was released (its receiver got on_closed).
  virtual void on_link_stream_released(QuicLink&) {}
  /// The connection ended (link.close_info() says why); its streams were told (on_reset).
  virtual void on_link_ended(QuicLink& link) = 0;
  /// The link closed its handles: the owner must free it now (it is not used afterwards).
  virtual void on_link_released(QuicLink& link) = 0;
};

/// Loop-thread only. Created by its owner; freed by its owner from on_link_released.
class QuicLink final : private QuicConnection::PacketWriter {
 public:
  QuicLink(uv_loop_t* loop, std::unique_ptr<QuicConnection> conn, LinkOwner& owner);
  ~QuicLink() override;
  QuicLink(const QuicLink&) = delete;
  QuicLink& operator=(const QuicLink&) = delete;

  QuicConnection& conn() { return *conn_; }
  const QuicConnection& conn() const { return *conn_; }
  uv_loop_t* loop() const { return loop_; }

  /// Feeds a datagram from the socket.
  void receive(const SocketAddress& from, const uint8_t* data, size_t len);
  /// Sends what is due on the next loop turn (idempotent).
  void schedule();
  /// Delivers `stream`'s waiting bytes on the next loop turn: received data once per read batch,
  /// and what a receiver left after resume_reading.
  void schedule_delivery(int64_t stream);

  /// Wraps stream `id` (peer-opened, or opened with conn().open_stream()) in a QuicStream.
  QuicStream* add_stream(int64_t id, std::string peer_description);
  /// Refuses a peer-opened stream (RESET_STREAM/STOP_SENDING with kStreamRefused).
  void refuse_stream(int64_t id);
  /// Streams not yet released.
  size_t stream_count() const { return streams_.size(); }
  /// Bytes queued on all streams and not yet acknowledged by the peer.
  size_t queued_bytes() const;
  /// Resets every stream (their calls are cancelled); they are released on a later turn.
  void reset_streams();

  /// Closes with CONNECTION_CLOSE (`code`, `reason`); streams end; the link is released after
  /// the closing period.
  void close(uint64_t code, const std::string& reason);
  /// Sends a CONNECTION_CLOSE if the connection is open, then closes the handles at once
  /// (clients need no closing period). on_link_released follows.
  void shutdown_now(const std::string& reason);
  /// Closes the handles at once, skipping what is left of a closing or draining period (a server
  /// shutting down). on_link_released follows.
  void abandon();
  /// Ends the connection at once for a reason found outside it, sending nothing (the client's
  /// socket reports the server's port closed: there is no one to tell). Streams and the owner
  /// (on_link_ended) see `why` as close_info(); `why.cause` must not be `none`. on_link_released
  /// follows. Not from inside an owner's send_datagram/send_segments (the link is writing).
  void fail_now(CloseInfo why);
  /// Why the connection ended: what fail_now() was given, else conn().close_info().
  const CloseInfo& close_info() const { return failed_ ? failure_ : conn_->close_info(); }
  /// Whether the timer and idle handles keep the loop alive. Letting go waits a moment (twice
  /// QUIC's default max_ack_delay): the ACKs still owed to the peer go out even when nothing else
  /// runs the loop. Without them a server keeps the streams just finished, and its drain waits.
  void set_referenced(bool referenced);
  bool ended() const { return ended_; }

 private:
  static void on_timer(uv_timer_t* t);
  static void on_idle(uv_idle_t* h);
  void process_events();
  void deliver_pending();
  void sweep();
  bool flush();
  // QuicConnection::PacketWriter: packets are written into this thread's GSO batch in place.
  uint8_t* space(size_t max) override;
  bool emit(const SocketAddress& to, size_t len) override;
  bool send_batch();
  void arm_timer();
  void unref_if_due();
  void after_io();
  void handle_ended();
  void check_finished();
  void close_handles();
  QuicStream* stream(int64_t id);

  uv_loop_t* loop_;
  std::unique_ptr<QuicConnection> conn_;
  LinkOwner& owner_;
  uv_timer_t timer_{};
  uv_idle_t idle_{};
  std::unordered_map<int64_t, std::unique_ptr<QuicStream>> streams_;
  std::vector<int64_t> deliveries_;  // streams to deliver to, in order, each once (QuicStream)
  std::vector<std::unique_ptr<QuicStream>> graveyard_;  // released at shutdown, freed on close
  bool idle_active_ = false;
  bool ended_ = false;
  bool handles_closing_ = false;
  bool delivering_ = false;  // deliver_pending() is on the stack
  int handles_open_ = 2;
  bool in_dispatch_ = false;
  bool failed_ = false;  // fail_now() ran: failure_ is why
  CloseInfo failure_;
  bool unref_pending_ = false;  // set_referenced(false): the handles let go at unref_at_ms_
  uint64_t unref_at_ms_ = 0;    // uv_now() time
};

/// What a send on a UDP socket met.
enum class UdpSendResult {
  sent,       ///< handed to the kernel, or lost in a way QUIC recovers from (or times out on)
  backed_up,  ///< the socket or libuv's queue is full: a copy is queued; stop for this loop turn
  refused,    ///< connected sockets only: the kernel got an ICMP port unreachable for an earlier
              ///< datagram (ECONNREFUSED), so nothing listens at the peer's address any more
};

/// Sends one datagram on `udp` to `to` — or, `to` null, on a connected socket (uv_udp_connect),
/// which must name no address (libuv refuses one with UV_EISCONN): uv_udp_try_send, or — when the
/// socket or libuv's queue is backed up — a copy through uv_udp_send. An error met by that queued
/// copy is not reported (the kernel clears it; QUIC's next retransmission meets the next one).
UdpSendResult udp_send_to(uv_udp_t* udp, const SocketAddress* to, const uint8_t* data, size_t len);

/// Sends `len` bytes as datagrams of `segment` bytes (the last may be shorter) on `udp`, to `to`
/// or (null) on a connected socket: one sendmsg with UDP_SEGMENT (Linux GSO: one trip through
/// the stack for up to 64 packets), or one udp_send_to per datagram when libuv has sends queued
/// (order is kept), the kernel refuses GSO (then never tried again in this process), or the
/// socket is backed up. `refused` wins over `backed_up` when datagrams met both.
UdpSendResult udp_send_segments_to(uv_udp_t* udp, const SocketAddress* to, const uint8_t* data,
                                   size_t len, size_t segment);

/// udp_send_to on an unconnected socket (a server's): false when backed up.
inline bool udp_send(uv_udp_t* udp, const SocketAddress& to, const uint8_t* data, size_t len) {
  return udp_send_to(udp, &to, data, len) != UdpSendResult::backed_up;
}

/// udp_send_segments_to on an unconnected socket: false when backed up, like udp_send.
inline bool udp_send_segments(uv_udp_t* udp, const SocketAddress& to, const uint8_t* data,
                              size_t len, size_t segment) {
  return udp_send_segments_to(udp, &to, data, len, segment) != UdpSendResult::backed_up;
}

}  // namespace alk::transport::quic

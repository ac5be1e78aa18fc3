// The client side of the QUIC transport: one connection (its own UDP socket, connected to the
// server's address) to one server, shared by many calls, one bidirectional stream per call.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "transport/quic/quic_link.h"

namespace alk::transport::quic {

struct QuicClientConfig {
  std::string host;  ///< a name (resolved with getaddrinfo) or a numeric address
  uint16_t port = 0;
  ClientTlsConfig tls;
  QuicOptions quic;
};

/// Why a connection could not be made, or broke.
struct QuicFailure {
  std::string message;
  bool retryable = true;         ///< false for TLS refusals (either side)
  bool refused_by_peer = false;  ///< the server refused our certificate (TLS alert from it)
};

/// Loop-thread only. Made by connect() as a shared_ptr: dropping the last reference closes the
/// connection (CONNECTION_CLOSE) and frees it once its handles are closed. While it has no stream
/// and no pending open, its handles do not keep the loop alive (from 50 ms after the last stream
/// was released, so that the ACKs owed to the server go out: QuicLink::set_referenced).
///
/// Its socket is connected to the server, so the kernel hands it the ICMP port unreachable a
/// datagram meets when no process listens there any more (a server that died without a word and
/// did not come back): the connection then fails at once — a retryable failure for its streams and
/// pending opens — rather than at the idle timeout.
class QuicClient final : private LinkOwner {
 public:
  static std::shared_ptr<QuicClient> connect(uv_loop_t* loop, QuicClientConfig config);

  /// Receives the opened stream (give it a receiver at once; the link owns it) or the failure.
  using OpenCallback = std::function<void(QuicStream* stream, const QuicFailure* failure)>;

  /// Opens a stream as soon as the connection (and the server's stream limit) allows. `done` runs
  /// on a later loop turn, never inside this call. Returns a ticket for cancel_open().
  uint64_t open_stream(OpenCallback done);
  /// Forgets a pending open; its callback will not run.
  void cancel_open(uint64_t ticket);

  /// False once the connection failed or ended: make a new one for new calls.
  bool usable() const { return !failed_; }
  /// Why it failed (valid when !usable()).
  const QuicFailure& failure() const { return failure_; }
  /// The handshake finished (the server may still refuse our certificate right after).
  bool established() const { return established_; }
  std::string describe() const;

  /// Runs `done` right after the client is freed: the last reference was dropped and every
  /// handle is closed. For an owner that must not let the loop go before that (a Node
  /// environment's teardown). Set it before dropping the last reference.
  void set_on_freed(std::function<void()> done) { on_freed_ = std::move(done); }

 private:
  struct Pending {
    uint64_t ticket;
    OpenCallback done;
  };

  QuicClient(uv_loop_t* loop, QuicClientConfig config);
  ~QuicClient() override;
  void start();
  void dispose();  // the shared_ptr's deleter
  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  void connect_to(const sockaddr* addr);
  void fail(QuicFailure failure);
  /// The socket reported the server's port closed: the link ends now (see the class comment).
  void server_port_closed();
  static void on_kick(uv_timer_t* t);
  /// What a send met, for the link: false unless sent; `refused` schedules server_port_closed().
  bool sent(UdpSendResult result);
  void try_open();
  void flush_failures();
  void update_ref();
  void maybe_free();
  /// uv_close, delete in the close callback, then maybe_free. `handle->data` must be this.
  template <typename Handle>
  void close_handle(Handle* handle);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags);

  // LinkOwner
  bool send_datagram(const SocketAddress& to, const uint8_t* data, size_t len) override;
  bool send_segments(const SocketAddress& to, const uint8_t* data, size_t len,
                     size_t segment) override;
  void on_link_handshake(QuicLink& link) override;
  void on_link_peer_stream(QuicLink& link, int64_t id) override;
  void on_link_streams_available(QuicLink& link) override;
  void on_link_stream_released(QuicLink& link) override;
  void on_link_ended(QuicLink& link) override;
  void on_link_released(QuicLink& link) override;

  uv_loop_t* loop_;
  QuicClientConfig config_;
  std::shared_ptr<TlsCredentials> tls_;
  uv_getaddrinfo_t* resolving_ = nullptr;  // freed in its callback
  uv_udp_t* udp_ = nullptr;                // freed in its close callback
  uv_timer_t* kick_ = nullptr;             // runs deferred callbacks; freed in its close callback
  std::unique_ptr<QuicLink> link_;
  std::deque<Pending> pending_;
  uint64_t next_ticket_ = 1;
  QuicFailure failure_;
  bool failed_ = false;
  bool established_ = false;
  bool disposed_ = false;
  bool link_releasing_ = false;
  bool port_closed_ = false;  // a send met ECONNREFUSED: server_port_closed() on the next kick
  int handles_open_ = 0;
  std::function<void()> on_freed_;
  std::unique_ptr<char[]> recv_buf_;  // recvmmsg: room for several datagrams per read
};

}  // namespace alk::transport::quic

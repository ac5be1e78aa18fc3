// One QUIC connection as a pure state machine (sans-I/O): fed datagrams and timestamps, it emits
// datagrams and queues stream events. No sockets, no clocks, no loop: the libuv glue (quic_link,
// quic_server, quic_client) and the unit tests drive it. Wraps ngtcp2 0.12.1 + GnuTLS.
#pragma once

#include <netinet/in.h>
#include <ngtcp2/ngtcp2.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "transport/quic/tls_context.h"
#include "util/result.h"

namespace alk::transport::quic {

/// Nanoseconds on a monotonic clock: uv_hrtime() in production, anything increasing in tests.
using Timestamp = uint64_t;
inline constexpr Timestamp kNever = UINT64_MAX;

/// Application error codes on RESET_STREAM / STOP_SENDING.
inline constexpr uint64_t kStreamCancelled = 0x1;  ///< the call was cancelled
inline constexpr uint64_t kStreamRefused = 0x2;    ///< not served (shutting down): retry elsewhere
/// Application error code of a CONNECTION_CLOSE that ends a connection normally.
inline constexpr uint64_t kCloseNoError = 0x0;

/// The length of every connection id a server issues (short headers carry no length).
inline constexpr size_t kServerCidLength = 18;

/// An IPv4/IPv6 socket address.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  /// "127.0.0.1:4433", "[::1]:4433".
  std::string describe() const;
  static SocketAddress from(const sockaddr* addr);
  /// A numeric host ("127.0.0.1", "::1") and a port.
  static Result<SocketAddress, std::string> numeric(const std::string& host, uint16_t port);
  /// True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses: the loopback interface.
  bool is_loopback() const;
};

/// Transport tuning shared by servers and clients.
struct QuicOptions {
  /// The longest timeout the three below take (10^12 ms, about 31 years): a larger value counts as
  /// this much, so that none overflows ngtcp2's nanoseconds.
  static constexpr uint64_t kMaxTimeoutMs = 1'000'000'000'000;
  /// Closes a connection after this long without any packet (0: never). The smaller of the two
  /// peers' values applies.
  uint64_t idle_timeout_ms = 30000;
  /// While at least one stream is open, a PING goes out after this long without traffic, so a
  /// quiet call (a log follow with no output) never hits the idle timeout. 0: no keep-alive.
  uint64_t keep_alive_ms = 10000;
  uint64_t handshake_timeout_ms = 10000;
  /// Per-stream receive window granted up front, and the auto-tuning cap.
  uint64_t stream_window = 1u << 20;
  uint64_t max_stream_window = 16u << 20;
  /// Connection receive window, and its auto-tuning cap.
  uint64_t connection_window = 16u << 20;
  uint64_t max_connection_window = 64u << 20;
  /// How many bidirectional streams the peer may have open at once (servers; clients allow 0).
  uint64_t max_streams_bidi = 128;
  /// UDP payload size for a connection whose peer is on the loopback interface (0: the default
  /// 1 452 bytes, as on any network). Loopback carries 64 KiB datagrams and never needs path-MTU
  /// discovery, so bigger packets divide the per-packet cost (a syscall slot, an AEAD seal or
  /// open, ngtcp2's bookkeeping) by as much. The peer's max_udp_payload_size still caps it.
  size_t loopback_udp_payload = 16384;
  /// ngtcp2's frame-level trace on stderr.
  bool trace = false;
};

/// Why a connection ended.
struct CloseInfo {
  enum class Cause {
    none,               ///< still open
    local,              ///< close() was called
    peer,               ///< the peer sent CONNECTION_CLOSE (application or transport)
    idle_timeout,       ///< no packet within the idle timeout
    handshake_timeout,  ///< the handshake did not finish in time
    tls,                ///< the TLS handshake failed here (we sent the alert)
    tls_by_peer,        ///< the peer refused the TLS handshake (it sent the alert)
    protocol,           ///< a QUIC protocol or internal error
  };
  Cause cause = Cause::none;
  uint64_t code = 0;      ///< the QUIC/application error code, when there is one
  uint8_t tls_alert = 0;  ///< the TLS alert, for tls / tls_by_peer
  std::string message;    ///< human-readable, for logs and call errors
  /// The cause as one word for log lines: "open" (none), "local", "peer", "idle_timeout",
  /// "handshake_timeout", "tls", "tls_by_peer", "protocol". A static string.
  const char* cause_name() const;
  /// True when trying again (a new connection) may work: not for TLS refusals.
  bool retryable() const { return cause != Cause::tls && cause != Cause::tls_by_peer; }
  /// The peer refused our certificate (or that we sent none): an authentication failure.
  bool certificate_refused() const {
    return cause == Cause::tls_by_peer &&
           (tls_alert == 42 || tls_alert == 43 || tls_alert == 44 || tls_alert == 45 ||
            tls_alert == 46 || tls_alert == 48 || tls_alert == 116);
  }
};

/// What happened, in order. Stream events for one stream coalesce (one `readable` until read).
struct QuicEvent {
  enum class Type {
    handshake_completed,  ///< server: the client is authenticated (peer_id() is set);
                          ///< client: TLS done and the ALPN checked
    stream_opened,        ///< the peer opened `stream`
    stream_readable,      ///< data and/or FIN is waiting on `stream` (stream_read)
    stream_reset,         ///< the peer reset `stream` (RESET_STREAM or STOP_SENDING), `code`
    stream_acked,         ///< the peer acknowledged data of `stream` (stream_unacked fell)
    stream_closed,        ///< the transport finished `stream` (both directions done or reset)
    streams_available,    ///< client: more streams may be opened (open_stream)
    ended,                ///< the connection can no longer carry streams (close_info())
  };
  Type type = Type::ended;
  int64_t stream = -1;
  uint64_t code = 0;
};

/// Lets a server keep its connection-id map in sync with one connection.
struct ServerHooks {
  /// A connection id was issued (`added`) or retired. Called from inside ngtcp2: do not call back
  /// into the connection.
  std::function<void(const ngtcp2_cid& cid, bool added)> cid_changed;
  /// The server's static key for stateless reset tokens.
  std::array<uint8_t, 32> reset_secret{};
};

/// The state machine. Loop-thread only (or test thread); not copyable.
class QuicConnection : private TlsObserver {
 public:
  enum class State { handshaking, open, closing, draining, closed };

  /// A client connection to `remote`, sending its Initial on the first write(). `host` is the
  /// name the server certificate is checked against when the TLS config names none.
  static Result<std::unique_ptr<QuicConnection>, std::string> connect(
      const SocketAddress& local, const SocketAddress& remote, std::string_view host,
      std::shared_ptr<TlsCredentials> tls, const QuicOptions& options, Timestamp now);

  /// A server connection for a client Initial whose header `ngtcp2_accept` decoded into `hd`.
  /// The first datagram must then be fed with receive().
  static Result<std::unique_ptr<QuicConnection>, std::string> accept(
      const ngtcp2_pkt_hd& hd, const SocketAddress& local, const SocketAddress& remote,
      std::shared_ptr<TlsCredentials> tls, const QuicOptions& options, ServerHooks hooks,
      Timestamp now);

  ~QuicConnection() override;
  QuicConnection(const QuicConnection&) = delete;
  QuicConnection& operator=(const QuicConnection&) = delete;

  // ---- I/O ----

  /// Feeds one datagram that arrived from `remote`.
  void receive(const SocketAddress& remote, const uint8_t* data, size_t len, Timestamp now);

  /// Where write() puts its datagrams: each is written straight into space(), then emit()ted, so
  /// a sender that batches packets for one syscall gets them without a copy.
  class PacketWriter {
   public:
    virtual ~PacketWriter() = default;
    /// Room for the next datagram: at least `max` bytes, writable until the next emit().
    virtual uint8_t* space(size_t max) = 0;
    /// The `len` bytes just written at space() are a datagram for `to`. Returns false to stop the
    /// current write() (the socket is blocked; call write() again later).
    virtual bool emit(const SocketAddress& to, size_t len) = 0;
  };
  /// Emits a datagram: destination and bytes (valid during the call). Same return value as
  /// PacketWriter::emit.
  using Emit = std::function<bool(const SocketAddress& to, const uint8_t* data, size_t len)>;

  /// Writes what is due: handshake, stream data, ACKs, control frames, a CONNECTION_CLOSE. Stops at
  /// the congestion controller's send quantum; returns true when more is ready right away.
  bool write(Timestamp now, PacketWriter& out);
  /// The same, through a callback that is handed each datagram (in a buffer of the connection).
  bool write(Timestamp now, const Emit& emit);

  /// When handle_expiry() must run next (kNever: no timer).
  Timestamp expiry() const;
  /// Runs the timers that are due (loss detection, ACK delay, idle, keep-alive, closing period).
  void handle_expiry(Timestamp now);

  /// Closes with an application CONNECTION_CLOSE (`code`, `reason`), sent by the next write().
  /// Streams end (stream_closed is not reported for them; the `ended` event is).
  void close(uint64_t code, std::string_view reason, Timestamp now);

  /// The next queued event, if any.
  bool next_event(QuicEvent& out);

  State state() const { return state_; }
  bool is_server() const { return server_; }
  /// Open: the handshake finished and nothing ended the connection.
  bool usable() const { return state_ == State::open; }
  const CloseInfo& close_info() const { return close_; }
  /// The peer's certificate fingerprint ("SHA256:…"), or "" (none, or handshake not done).
  const std::string& peer_id() const { return peer_id_; }
  const SocketAddress& remote() const { return remote_; }
  const SocketAddress& local() const { return local_; }
  /// The handshake is confirmed: client, HANDSHAKE_DONE received; server, the handshake completed.
  bool confirmed() const { return confirmed_; }

  // ---- streams ----

  /// Opens a bidirectional stream; -1 when the peer's stream limit is reached (wait for
  /// streams_available) or the connection is not usable.
  int64_t open_stream();
  /// How many more streams open_stream() could open now.
  uint64_t streams_left() const;

  /// Queues bytes; they are sent as flow control allows. Ignored after finish/reset.
  void stream_write(int64_t id, std::string bytes);
  /// The same, copying `bytes` straight into the stream's unsent tail where it has room (one copy,
  /// no allocation for a small frame).
  void stream_append(int64_t id, std::string_view bytes);
  /// FIN after the queued bytes.
  void stream_finish(int64_t id);
  /// Aborts both directions (RESET_STREAM + STOP_SENDING with `code`); unread bytes are dropped.
  void stream_reset(int64_t id, uint64_t code);
  /// Bytes queued and not yet acknowledged by the peer.
  size_t stream_unacked(int64_t id) const;

  /// Takes up to `max` received bytes (a copy; stream_peek + stream_consume avoid it). Their
  /// flow-control credit is returned to the peer at once: read only what the consumer accepts,
  /// and the peer stops when the consumer does.
  std::string stream_read(int64_t id, size_t max);
  /// The received bytes not consumed yet, in place. The view stays valid until this stream's
  /// next stream_consume(), or the connection's next receive(); stream_reset() drops the bytes
  /// from the stream but leaves the memory alone, so a view handed out before stays readable.
  std::string_view stream_peek(int64_t id) const;
  /// Consumes the first `n` bytes of stream_peek() (fewer if fewer are left) and returns their
  /// flow-control credit to the peer.
  void stream_consume(int64_t id, size_t n);
  /// Received bytes waiting to be read.
  size_t stream_readable(int64_t id) const;
  /// The peer's FIN arrived and every byte before it was read.
  bool stream_at_eof(int64_t id) const;
  /// The application is done with `id`: its state is freed once the transport is done too.
  void release_stream(int64_t id);
  /// Open streams (not yet released by the application).
  size_t open_streams() const { return live_streams_; }
  /// Bytes of memory held for received stream data: every stream's buffer, plus the one spare
  /// an emptied large buffer leaves to the connection (dropped when no stream is open).
  size_t receive_buffer_capacity() const;

  /// Counters for tests and logs.
  struct Stats {
    uint64_t packets_sent = 0, packets_received = 0, bytes_sent = 0, bytes_received = 0;
    uint64_t blocked_events = 0;  ///< times a stream hit the peer's stream window
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Stream {
    int64_t id = -1;
    // send side: tx holds the bytes from offset tx_base on; acked <= sent <= end
    std::deque<std::string> tx;
    uint64_t tx_base = 0, tx_acked = 0, tx_sent = 0, tx_end = 0;
    bool fin_requested = false, fin_sent = false;
    bool write_shut = false;  // reset locally or by the peer's STOP_SENDING
    bool blocked = false;     // the peer's stream window is exhausted
    bool in_ready = false;
    // receive side
    std::string rx;
    size_t rx_pos = 0;
    bool rx_fin = false;
    bool read_shut = false;
    // bookkeeping
    bool readable_queued = false, acked_queued = false;
    bool transport_closed = false;  // ngtcp2 closed it
    bool released = false;          // the application let go
    bool peer_initiated = false;
  };

  QuicConnection(bool server, const SocketAddress& local, const SocketAddress& remote,
                 std::shared_ptr<TlsCredentials> tls, const QuicOptions& options);
  Result<bool, std::string> init_tls(std::string_view host);
  static ngtcp2_callbacks callbacks(bool server);
  ngtcp2_settings settings(Timestamp now) const;
  ngtcp2_transport_params params() const;

  Stream* find(int64_t id) const;
  /// The stream, if it may still be written to.
  Stream* writable_stream(int64_t id);
  /// The last queued chunk when `more` bytes may be appended to it in place, else null.
  std::string* unsent_tail(Stream& s, size_t more);
  Stream& ensure_peer_stream(int64_t id);
  void push(QuicEvent ev);
  void mark_ready(Stream& s);
  bool has_sendable(const Stream& s) const;
  void maybe_erase(int64_t id);
  void update_keep_alive();
  void fail_read(int rv, Timestamp now);
  void start_closing(const ngtcp2_connection_close_error& ccerr, Timestamp now);
  void enter_draining(Timestamp now);
  void end(CloseInfo::Cause cause, std::string message, uint64_t code = 0, uint8_t alert = 0);
  void finish_closed();

  // TlsObserver
  void on_certificate_rejected(std::string reason) override { cert_rejection_ = std::move(reason); }

  // ngtcp2 callbacks
  static int on_handshake_completed(ngtcp2_conn* conn, void* user);
  static int on_handshake_confirmed(ngtcp2_conn* conn, void* user);
  static int on_stateless_reset(ngtcp2_conn* conn, const ngtcp2_pkt_stateless_reset* sr,
                                void* user);
  static int on_recv_stream_data(ngtcp2_conn* conn, uint32_t flags, int64_t id, uint64_t offset,
                                 const uint8_t* data, size_t len, void* user, void* stream_user);
  static int on_acked(ngtcp2_conn* conn, int64_t id, uint64_t offset, uint64_t len, void* user,
                      void* stream_user);
  static int on_stream_open(ngtcp2_conn* conn, int64_t id, void* user);
  static int on_stream_close(ngtcp2_conn* conn, uint32_t flags, int64_t id, uint64_t code,
                             void* user, void* stream_user);
  static int on_stream_reset(ngtcp2_conn* conn, int64_t id, uint64_t final_size, uint64_t code,
                             void* user, void* stream_user);
  static int on_stop_sending(ngtcp2_conn* conn, int64_t id, uint64_t code, void* user,
                             void* stream_user);
  static int on_extend_max_local_streams(ngtcp2_conn* conn, uint64_t max, void* user);
  static int on_extend_max_stream_data(ngtcp2_conn* conn, int64_t id, uint64_t max, void* user,
                                       void* stream_user);
  static int on_get_new_cid(ngtcp2_conn* conn, ngtcp2_cid* cid, uint8_t* token, size_t len,
                            void* user);
  static int on_remove_cid(ngtcp2_conn* conn, const ngtcp2_cid* cid, void* user);
  static void on_rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx* ctx);
  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref);

  bool server_;
  SocketAddress local_, remote_;
  std::shared_ptr<TlsCredentials> tls_;
  QuicOptions options_;
  ServerHooks hooks_;
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t session_ = nullptr;
  SessionAnchor anchor_;
  State state_ = State::handshaking;
  CloseInfo close_;
  std::string peer_id_;
  std::string cert_rejection_;    // why the handshake refused a certificate
  bool stateless_reset_ = false;  // the server answered with a stateless reset
  std::string callback_error_;    // why a callback failed (ALPN mismatch, …)
  bool confirmed_ = false;
  bool keep_alive_on_ = false;
  std::unordered_map<int64_t, std::unique_ptr<Stream>> streams_;
  size_t live_streams_ = 0;
  std::deque<int64_t> ready_;
  std::deque<QuicEvent> events_;
  std::vector<uint8_t> buf_;
  // A large receive buffer a stream emptied, kept for the next stream whose buffer must grow:
  // one per connection, at most the initial stream window, dropped when no stream is open.
  std::string spare_rx_;
  std::string close_packet_;  // the CONNECTION_CLOSE we sent, resent while closing
  bool close_pending_send_ = false;
  unsigned close_resends_ = 0;
  Timestamp close_deadline_ = kNever;
  Stats stats_;
};

}  // namespace alk::transport::quic

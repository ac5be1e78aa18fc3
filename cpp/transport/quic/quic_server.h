// The QUIC listener: one UDP socket, a connection-id map dispatching datagrams to connections
// (QuicLink), mutual TLS, and one receiver (a call session) per client-opened bidirectional stream.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "transport/byte_stream.h"
#include "transport/quic/quic_link.h"
#include "util/result.h"

namespace alk::transport::quic {

struct QuicServerConfig {
  std::string host = "127.0.0.1";  ///< numeric address to bind (bind concrete addresses, not ANY)
  uint16_t port = 4433;            ///< 0: any free port (see address())
  ServerTlsConfig tls;
  QuicOptions quic;
};

/// One connection's life, for log lines.
struct ConnectionRecord {
  std::string event;    ///< "open" (handshake done), "closed", "refused" (handshake failed)
  std::string peer;     ///< the client's id, "" before authentication
  std::string address;  ///< the client's address
  /// Why it ended (closed/refused), one word: CloseInfo::cause_name(), or "rejected" when the
  /// first packet could not start a connection.
  std::string outcome;
  std::string detail;  ///< the same in words (CloseInfo::message), for people
  size_t calls = 0;    ///< streams served
  double duration_ms = 0;
};

/// Makes the receiver (a call session) for a new stream of an authenticated peer. The stream owns
/// it.
using PeerStreamFactory =
    std::function<std::unique_ptr<StreamReceiver>(ByteStream& stream, const std::string& peer_id)>;

/// Loop-thread only. close() it and wait for the callback before destroying it.
class QuicServer final : private LinkOwner {
 public:
  QuicServer(uv_loop_t* loop, QuicServerConfig config, PeerStreamFactory factory);
  ~QuicServer() override;
  QuicServer(const QuicServer&) = delete;
  QuicServer& operator=(const QuicServer&) = delete;

  /// Loads the TLS credentials and binds the socket. Returns a message naming what failed.
  Result<bool, std::string> listen();

  /// Receives a record per connection event.
  void set_connection_log(std::function<void(const ConnectionRecord&)> log) {
    log_ = std::move(log);
  }

  /// Graceful stop: new connections are refused (CONNECTION_REFUSED) and new streams reset with
  /// kStreamRefused; connections close (CONNECTION_CLOSE "server shutting down") as their last
  /// call ends. With `drop`, every call is reset right away. `done` runs once every connection
  /// is gone and the socket is closed.
  void close(bool drop, std::function<void()> done);
  /// Resets every call (sessions cancel their handlers); connections then close.
  void drop_connections();

  /// Live connections and open calls.
  size_t connections() const { return links_.size(); }
  size_t calls() const;
  /// Bytes queued for clients on all calls and not yet acknowledged (backpressure checks).
  size_t queued_bytes() const;
  /// The bound address (the real port when 0 was asked).
  const SocketAddress& address() const { return local_; }
  /// "quic://127.0.0.1:4433".
  std::string describe() const { return "quic://" + local_.describe(); }

 private:
  struct Entry {
    std::unique_ptr<QuicLink> link;
    std::unordered_set<std::string> cids;
    std::string peer;
    std::string address;
    std::chrono::steady_clock::time_point started;
    size_t calls = 0;
    bool opened = false;  // handshake done (logged)
  };

  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags);
  void dispatch(const SocketAddress& from, const uint8_t* data, size_t len);
  void accept(const SocketAddress& from, const uint8_t* data, size_t len);
  void refuse(const SocketAddress& from, const uint8_t* data, size_t len);
  void derive_reset_secret();
  void stateless_reset(const SocketAddress& from, const uint8_t* data, size_t len);
  void version_negotiation(const SocketAddress& from, const ngtcp2_version_cid& vc);
  Entry* entry(QuicLink& link);
  void maybe_done();

  // LinkOwner
  bool send_datagram(const SocketAddress& to, const uint8_t* data, size_t len) override;
  bool send_segments(const SocketAddress& to, const uint8_t* data, size_t len,
                     size_t segment) override;
  void on_link_handshake(QuicLink& link) override;
  void on_link_peer_stream(QuicLink& link, int64_t id) override;
  void on_link_stream_released(QuicLink& link) override;
  void on_link_ended(QuicLink& link) override;
  void on_link_released(QuicLink& link) override;

  uv_loop_t* loop_;
  QuicServerConfig config_;
  PeerStreamFactory factory_;
  std::function<void(const ConnectionRecord&)> log_;
  std::shared_ptr<TlsCredentials> tls_;
  ServerHooks hooks_template_;
  uv_udp_t* udp_ = nullptr;  // freed in its close callback
  SocketAddress local_;
  std::unordered_map<QuicLink*, std::unique_ptr<Entry>> links_;
  std::unordered_map<std::string, Entry*> by_cid_;
  std::vector<char> recv_buf_;
  std::function<void()> on_closed_;
  // Stateless resets sent in the current millisecond (uv_now), bounded by kMaxResetsPerMs.
  static constexpr unsigned kMaxResetsPerMs = 16;
  uint64_t reset_window_ms_ = 0;
  unsigned resets_in_window_ = 0;
  bool closing_ = false;
  bool socket_closing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace alk::transport::quic

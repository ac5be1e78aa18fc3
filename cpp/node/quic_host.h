// The native side of one JS QuicConnection: a transport::quic::QuicClient on Node's loop, shared
// (std::shared_ptr) by the connection's JS wrapper and every stream wrapper opened on it, so
// neither outlives the other's needs. Registered with the env's Addon until it is closed, so env
// teardown can close it; the Addon counts closed clients until their handles are freed.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <set>

#include "transport/quic/quic_client.h"

namespace alk::node {

class QuicStreamWrap;
struct Addon;

/// Loop-thread only. Always made with std::make_shared.
class QuicHost : public std::enable_shared_from_this<QuicHost> {
 public:
  /// Starts connecting at once (name resolution, handshake); see QuicClient::connect.
  QuicHost(Addon& addon, uv_loop_t* loop, transport::quic::QuicClientConfig config);
  /// Closes the connection if close() did not.
  ~QuicHost();
  QuicHost(const QuicHost&) = delete;
  QuicHost& operator=(const QuicHost&) = delete;

  /// The connection, or nullptr once closed.
  transport::quic::QuicClient* client() const { return client_.get(); }
  /// False once closed, or once the connection failed or ended (a new one is needed).
  bool usable() const { return client_ && client_->usable(); }
  bool established() const { return client_ && client_->established(); }

  /// Stream wrappers opened here and not yet released; told when the connection is closed.
  void add_stream(QuicStreamWrap* stream) { streams_.insert(stream); }
  void remove_stream(QuicStreamWrap* stream) { streams_.erase(stream); }

  /// Closes the connection now (CONNECTION_CLOSE; an already failed one just lets go). Open
  /// streams end through their receivers (error, then close); streams still waiting to open
  /// fail with the connection's failure, or "closed". Only queues events, never calls JS.
  /// `freed` (may be empty) runs from a libuv close callback once every handle of the
  /// connection is freed. Returns false (and drops `freed`) when already closed.
  bool close(std::function<void()> freed);

  /// Env teardown: abandons every stream wrapper (nothing more reaches JS), then close().
  void abandon();

 private:
  Addon* addon_;  // valid until close(): afterwards only the freed callback touches it
  std::shared_ptr<transport::quic::QuicClient> client_;
  std::set<QuicStreamWrap*> streams_;
};

}  // namespace alk::node

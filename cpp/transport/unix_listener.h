// Accepts unix-socket connections; each connection carries one call.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "transport/uv_byte_stream.h"
#include "util/result.h"

namespace alk::transport {

/// Makes the receiver (a call session) for a new connection's stream. The stream owns it.
using ReceiverFactory = std::function<std::unique_ptr<StreamReceiver>(ByteStream& stream)>;

/// A listening unix socket. Loop-thread only. Close it (and wait for the callback) before freeing.
class UnixListener {
 public:
  UnixListener(uv_loop_t* loop, std::string path, ReceiverFactory factory);
  ~UnixListener();
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  /// Binds and listens. A stale socket file at `path` (nothing answering) is replaced; a live one
  /// is an error. The socket is made mode 0660. Returns an error message on failure.
  Result<bool, std::string> listen();

  /// Stops accepting. With `drop`, resets every open connection too. `done` runs when
  /// the listening handle is closed and, if dropping, every connection is released.
  void close(bool drop, std::function<void()> done);

  /// Resets every open connection (their calls are cancelled); they are released asynchronously.
  void drop_connections();

  /// Open connections.
  size_t connections() const { return live_.size(); }
  const std::string& path() const { return path_; }

 private:
  static void on_connection(uv_stream_t* server, int status);
  void maybe_done();

  uv_loop_t* loop_;
  std::string path_;
  ReceiverFactory factory_;
  uv_pipe_t* server_ = nullptr;  // freed in its close callback
  std::unordered_set<UvByteStream*> live_;
  std::function<void()> on_closed_;
  bool server_closed_ = false;
  bool closing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace alk::transport

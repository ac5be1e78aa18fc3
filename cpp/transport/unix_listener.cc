#include "transport/unix_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <limits>

namespace alk::transport {

namespace {

// True when something accepts connections at `path` right now.
bool socket_is_live(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

UnixListener::UnixListener(uv_loop_t* loop, std::string path, ReceiverFactory factory)
    : loop_(loop), path_(std::move(path)), factory_(std::move(factory)) {}

UnixListener::~UnixListener() {
  *alive_ = false;
}

Result<bool, std::string> UnixListener::listen() {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return unexpected(path_ + " exists and is not a socket");
    if (socket_is_live(path_)) return unexpected(path_ + " is already served by another process");
    ::unlink(path_.c_str());
  }
  server_ = new uv_pipe_t;
  uv_pipe_init(loop_, server_, 0);
  server_->data = this;
  int rc = uv_pipe_bind(server_, path_.c_str());
  // A coordinator may open hundreds of calls at once, each on its own connection; a full accept
  // queue turns a unix connect away (EAGAIN) instead of making it wait. So ask for the largest
  // queue: the kernel caps the backlog at net.core.somaxconn (4096 by default since Linux 5.4).
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(server_), std::numeric_limits<int>::max(),
                   &UnixListener::on_connection);
  }
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(server_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
    server_ = nullptr;
    return unexpected("cannot listen on " + path_ + ": " + uv_strerror(rc));
  }
  ::chmod(path_.c_str(), 0660);
  return true;
}

void UnixListener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<UnixListener*>(server->data);
  if (status != 0 || self->closing_) return;
  auto* client = new uv_pipe_t;
  uv_pipe_init(self->loop_, client, 0);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(client),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
    return;
  }
  auto* stream = new UvByteStream(client, "unix");
  self->live_.insert(stream);
  stream->set_on_released([self, stream, alive = self->alive_] {
    if (!*alive) return;
    self->live_.erase(stream);
    self->maybe_done();
  });
  stream->adopt_receiver(self->factory_(*stream));
  stream->start();
}

void UnixListener::close(bool drop, std::function<void()> done) {
  if (closing_) return;
  closing_ = true;
  on_closed_ = std::move(done);
  if (drop) drop_connections();
  if (!server_) {
    server_closed_ = true;
    maybe_done();
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(server_), [](uv_handle_t* h) {
    auto* self = static_cast<UnixListener*>(h->data);
    delete reinterpret_cast<uv_pipe_t*>(h);
    self->server_ = nullptr;
    self->server_closed_ = true;
    ::unlink(self->path_.c_str());
    self->maybe_done();
  });
}

void UnixListener::drop_connections() {
  // reset() only starts closing; the set is edited from the close callbacks.
  for (UvByteStream* s : std::unordered_set<UvByteStream*>(live_)) s->reset();
}

void UnixListener::maybe_done() {
  if (!closing_ || !server_closed_ || !live_.empty() || !on_closed_) return;
  auto done = std::move(on_closed_);
  on_closed_ = nullptr;
  done();
}

}  // namespace alk::transport

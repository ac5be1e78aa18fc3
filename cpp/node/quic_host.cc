#include "node/quic_host.h"

#include <vector>

#include "node/addon.h"
#include "node/quic_stream_wrap.h"

namespace alk::node {

QuicHost::QuicHost(Addon& addon, uv_loop_t* loop, transport::quic::QuicClientConfig config)
    : addon_(&addon), client_(transport::quic::QuicClient::connect(loop, std::move(config))) {
  addon_->quic_hosts.insert(this);
}

QuicHost::~QuicHost() {
  close(nullptr);
}

bool QuicHost::close(std::function<void()> freed) {
  if (!client_) return false;
  Addon* addon = addon_;
  addon->quic_hosts.erase(this);
  ++addon->quic_freeing;
  client_->set_on_freed([addon, freed = std::move(freed)] {
    if (freed) freed();
    if (--addon->quic_freeing == 0 && addon->on_quic_freed) {
      std::function<void()> done = std::move(addon->on_quic_freed);
      addon->on_quic_freed = nullptr;
      done();
    }
  });
  // A failed connection's reason is what streams still waiting to open should hear.
  transport::quic::QuicFailure failure{"the QUIC connection was closed", true, false};
  if (!client_->usable()) failure = client_->failure();
  // Dropping the only reference disposes the client: CONNECTION_CLOSE goes out, every open
  // stream hears on_reset and on_closed right here (the wrappers only queue them), and the
  // pending opens are forgotten — so their wrappers are told below.
  client_.reset();
  const std::vector<QuicStreamWrap*> streams(streams_.begin(), streams_.end());
  for (QuicStreamWrap* s : streams) s->connection_closed(failure);
  return true;
}

void QuicHost::abandon() {
  // The wrappers' references may be the last ones.
  std::shared_ptr<QuicHost> self = shared_from_this();
  const std::vector<QuicStreamWrap*> streams(streams_.begin(), streams_.end());
  for (QuicStreamWrap* s : streams) s->abandon();
  streams_.clear();
  close(nullptr);
}

}  // namespace alk::node

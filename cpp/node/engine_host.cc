#include "node/engine_host.h"

#include <vector>

#include "node/addon.h"
#include "node/engine_wrap.h"
#include "node/js_call.h"

namespace alk::node {

EngineHost::EngineHost(Addon& addon, uv_loop_t* loop, ops::EngineOptions options)
    : addon_(&addon), engine_(std::make_unique<ops::Engine>(loop, std::move(options))) {
  addon_->hosts.insert(this);
}

EngineHost::~EngineHost() = default;

void EngineHost::shutdown(std::function<void()> done) {
  if (closing_) return;
  closing_ = true;
  addon_->hosts.erase(this);
  addon_ = nullptr;
  const std::vector<JsCall*> calls(calls_.begin(), calls_.end());
  for (JsCall* c : calls) c->abandon();
  calls_.clear();
  // Engine::close runs the deferrer's queue first (the abandoned handlers are destroyed there and
  // release their docker connections), then closes the Docker client. Its callback may free the
  // engine (the client supports being freed from its own close callback).
  engine_->close([this, done = std::move(done)] {
    if (wrap_ != nullptr) wrap_->host_gone();
    if (done) done();
    delete this;
  });
}

}  // namespace alk::node

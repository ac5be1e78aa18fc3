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
  if (done) on_closed_.push_back(std::move(done));
  if (closing_) return;
  closing_ = true;
  const std::vector<JsCall*> calls(calls_.begin(), calls_.end());
  for (JsCall* c : calls) c->abandon();
  calls_.clear();
  // Engine::close runs the deferrer's queue first (the abandoned handlers are destroyed there and
  // release their docker connections; a cancelled run sends its container's removal), waits up to
  // 3 s for those removals, then closes the Docker client. So the env teardown that called this
  // waits for them too. Its callback may free the engine (the client supports being freed from
  // its own close callback).
  engine_->close([this] {
    addon_->hosts.erase(this);
    if (wrap_ != nullptr) wrap_->host_gone();
    std::vector<std::function<void()>> callbacks;
    callbacks.swap(on_closed_);
    delete this;
    for (auto& cb : callbacks) cb();
  });
}

}  // namespace alk::node

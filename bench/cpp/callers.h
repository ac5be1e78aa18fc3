// The three ways the QUIC benchmark makes the same call: the ops Engine in this process (no
// framing, no transport), or a CallClient to `alknet-docker serve` over QUIC or a unix socket.
// All three take client::CallEvents and return a client::ClientCall, so every benchmark mode is
// written once.
#pragma once

#include <uv.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "client/call_client.h"
#include "ops/engine.h"

namespace alk::bench {

/// Makes calls. Loop-thread only; calls must be gone before the caller is destroyed.
class Caller {
 public:
  virtual ~Caller() = default;
  /// Starts `operation` with `input`; events run on the loop thread, never from inside this call.
  virtual std::unique_ptr<client::ClientCall> call(std::string operation, nlohmann::json input,
                                                   client::CallEvents events,
                                                   client::CallOptions options = {}) = 0;
};

/// Calls a server through a CallClient (quic://… or unix://…).
class RemoteCaller final : public Caller {
 public:
  RemoteCaller(uv_loop_t* loop, client::Address address, client::ClientTlsOptions tls)
      : client_(loop, std::move(address), std::move(tls)) {}
  std::unique_ptr<client::ClientCall> call(std::string operation, nlohmann::json input,
                                           client::CallEvents events,
                                           client::CallOptions options) override {
    return client_.call(std::move(operation), std::move(input), std::move(events),
                        std::move(options));
  }

 private:
  client::CallClient client_;
};

/// Calls the Engine directly, as the Node addon does: the handler answers into a CallSink that
/// turns each output into the same events a CallClient gives (one JSON value per output, parsed).
/// Stdin is handed to the handler on a later loop turn (never inside one of its callbacks).
class InProcessCaller final : public Caller {
 public:
  /// `engine` must outlive the caller and every call it made.
  explicit InProcessCaller(ops::Engine& engine) : engine_(engine) {}
  std::unique_ptr<client::ClientCall> call(std::string operation, nlohmann::json input,
                                           client::CallEvents events,
                                           client::CallOptions options) override;

 private:
  ops::Engine& engine_;
};

}  // namespace alk::bench

#include "client/call_client.h"

#include "transport/quic/quic_client.h"
#include "transport/uv_byte_stream.h"
#include "wire/canonical_json.h"
#include "wire/envelope.h"
#include "wire/frame_decoder.h"

namespace alk::client {

using call::CallError;

namespace {

// Fields of what the server sent, read without trusting their types: json::value() throws when a
// field has another type than the fallback, and a server's bytes must not throw out of a loop.
bool string_field_is(const nlohmann::json& o, const char* key, std::string_view want) {
  if (!o.is_object()) return false;
  auto it = o.find(key);
  return it != o.end() && it->is_string() && it->get_ref<const std::string&>() == want;
}

bool bool_field(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_boolean() && it->get<bool>();
}

// The exit control's code; -1 (unknown) unless it is a whole number of a process's range.
int exit_code_field(const nlohmann::json& o) {
  auto it = o.find("code");
  if (it == o.end() || !it->is_number_integer()) return -1;
  const int64_t code = it->get<int64_t>();
  return code >= -1 && code <= 255 ? static_cast<int>(code) : -1;
}

}  // namespace

std::string Address::describe() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  const bool v6 = host.find(':') != std::string::npos;
  return "quic://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Address, std::string> parse_address(std::string_view text) {
  Address a;
  constexpr std::string_view kQuic = "quic://";
  if (text.substr(0, kQuic.size()) == kQuic) {
    std::string_view rest = text.substr(kQuic.size());
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    std::string_view host, port;
    if (!rest.empty() && rest.front() == '[') {
      const size_t close = rest.find(']');
      if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
        return unexpected("bad QUIC address (expected quic://[v6-address]:port): " +
                          std::string(text));
      }
      host = rest.substr(1, close - 1);
      port = rest.substr(close + 2);
    } else {
      const size_t colon = rest.rfind(':');
      if (colon == std::string_view::npos) {
        return unexpected("bad QUIC address (expected quic://host:port): " + std::string(text));
      }
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    unsigned long n = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
      digits = digits && c >= '0' && c <= '9';
      if (digits) n = n * 10 + static_cast<unsigned long>(c - '0');
    }
    if (host.empty() || !digits || n == 0 || n > 65535) {
      return unexpected("bad QUIC address (expected quic://host:port): " + std::string(text));
    }
    a.kind = Address::Kind::quic;
    a.host = host;
    a.port = static_cast<uint16_t>(n);
    return a;
  }
  constexpr std::string_view kUnix = "unix://";
  if (text.substr(0, kUnix.size()) == kUnix) text.remove_prefix(kUnix.size());
  if (text.empty() || text.front() != '/') {
    return unexpected("unsupported address (expected unix:///absolute/path or quic://host:port): " +
                      std::string(text));
  }
  a.path = text;
  return a;
}

namespace {

class StreamClientCall final : public ClientCall, public transport::StreamReceiver {
 public:
  StreamClientCall(CallEvents events, CallOptions options)
      : events_(std::move(events)), options_(std::move(options)) {}

  ~StreamClientCall() override {
    *alive_ = false;
    forget_open();
    drop_stream();
  }

  void connect_unix(uv_loop_t* loop, const std::string& path, std::string request_frame) {
    outbox_ = std::move(request_frame);
    // Not called after cancel() or destruction: forget_open() cancels the connect.
    connecting_ =
        transport::connect_unix(loop, path, [this](transport::UvByteStream* s, int status) {
          if (!s) {
            end(CallError::make(call::codes::kInternal,
                                std::string("cannot connect to the server: ") + uv_strerror(status),
                                true));
            return;
          }
          attach(s);
          s->start();
        });
  }

  /// One stream of the shared connection `client` (the call keeps the connection alive).
  void connect_quic(std::shared_ptr<transport::quic::QuicClient> client,
                    std::string request_frame) {
    outbox_ = std::move(request_frame);
    quic_ = std::move(client);
    ticket_ = quic_->open_stream([this, alive = alive_](transport::quic::QuicStream* s,
                                                        const transport::quic::QuicFailure* f) {
      if (!*alive) {
        if (s) s->reset();
        return;
      }
      ticket_ = 0;
      if (ended_) {
        if (s) s->reset();
        return;
      }
      if (!s) {
        end(CallError::make(f->refused_by_peer ? call::codes::kForbidden : call::codes::kInternal,
                            f->message, f->retryable));
        return;
      }
      quic_stream_ = s;
      attach(s);
    });
  }

  // ClientCall
  void send_stdin(std::string_view bytes) override {
    if (!stream_) {
      wire::append_chunks(outbox_, wire::ChunkType::stdin_data, bytes);
      return;
    }
    // Header and payload straight to the stream, which copies the payload once.
    wire::split_chunks(
        wire::ChunkType::stdin_data, bytes,
        [this](std::string_view header, std::string_view part) { stream_->append(header, part); });
  }
  void end_stdin() override {
    std::string out;
    wire::append_chunk(out, wire::ChunkType::control_in, R"({"type":"eof"})");
    send(std::move(out));
  }
  void send_control(const nlohmann::json& message) override {
    std::string out;
    wire::append_chunk(out, wire::ChunkType::control_in, message.dump());
    send(std::move(out));
  }
  bool writable() const override {
    const size_t queued = stream_ ? stream_->queued_bytes() : outbox_.size();
    // The streams promise on_drain only once the queue went above kHighWater: at exactly that
    // mark the call must still count as writable, or a writer waiting for a drain waits forever.
    return queued <= transport::ByteStream::kHighWater;
  }
  void pause() override {
    paused_ = true;
    if (stream_) stream_->pause_reading();
  }
  void resume() override {
    paused_ = false;
    if (stream_) stream_->resume_reading();
  }
  void cancel() override {
    ended_ = true;
    forget_open();
    drop_stream();
  }

  // StreamReceiver
  size_t on_bytes(std::string_view bytes) override {
    // Always all of them: pause() only stops the transport's next reads. (An event handler may
    // destroy this call; nothing here is touched after the calls below.)
    if (ended_) return bytes.size();
    if (raw_) {
      read_chunks(bytes);
    } else {
      frames_.push(bytes);
      read_frames();
    }
    return bytes.size();
  }
  void on_fin() override {
    if (ended_) return;
    if (outputs_ > 0 && !options_.kind) {
      end(std::nullopt);
    } else {
      end(CallError::make(call::codes::kInternal, "connection closed before the call ended", true));
    }
  }
  void on_reset() override {
    if (ended_) return;
    if (quic_stream_ && !quic_stream_->failure().empty()) {
      // TLS 1.3: the server checks our certificate after our handshake finished, so its refusal
      // can arrive on a stream already open.
      end(CallError::make(
          quic_stream_->failure_forbidden() ? call::codes::kForbidden : call::codes::kInternal,
          quic_stream_->failure(), quic_stream_->failure_retryable()));
      return;
    }
    end(CallError::make(call::codes::kInternal, "connection reset", true));
  }
  void on_drain() override {
    if (events_.on_drain) events_.on_drain();
  }
  void on_closed() override {
    stream_ = nullptr;
    quic_stream_ = nullptr;
    if (!ended_) end(CallError::make(call::codes::kInternal, "connection closed", true));
  }

 private:
  void send(std::string bytes) {
    if (stream_) {
      stream_->write(std::move(bytes));
    } else {
      outbox_ += bytes;
    }
  }

  void attach(transport::ByteStream* s) {
    stream_ = s;
    stream_->set_receiver(this);
    stream_->write(std::move(outbox_));
    outbox_.clear();
    if (paused_) stream_->pause_reading();
  }

  void forget_open() {
    connecting_.cancel();
    if (quic_ && ticket_) quic_->cancel_open(ticket_);
    ticket_ = 0;
  }

  void drop_stream() {
    if (!stream_) return;
    stream_->set_receiver(nullptr);
    stream_->reset();
    stream_ = nullptr;
    quic_stream_ = nullptr;
  }

  void read_frames() {
    auto alive = alive_;
    // The switch frame of a raw call needs its parsed output; json calls may take the fast path.
    const bool fast = events_.on_output_text && options_.carriage == call::Carriage::json;
    while (!ended_ && !raw_) {
      const std::optional<std::string_view> body = frames_.next_body();
      if (!body) {
        if (frames_.error() != wire::FrameError::none) malformed();
        return;
      }
      if (fast) {
        if (const std::optional<std::string_view> output =
                wire::canonical_responded_output(*body)) {
          handle_output_text(*output);
          if (!*alive) return;
          continue;
        }
      }
      wire::Envelope env;
      std::string detail;
      const wire::FrameError e = wire::parse_envelope(*body, env, &detail);
      if (e != wire::FrameError::none) {
        frames_.fail(e, std::move(detail));
        malformed();
        return;
      }
      handle_envelope(env);
      if (!*alive) return;
    }
    if (raw_ && !ended_) {
      chunks_->push(frames_.take_remaining());
      read_chunks();
    }
  }

  void malformed() {
    abort_call(CallError::internal(std::string("malformed frame from the server: ") +
                                   wire::describe(frames_.error())));
  }

  // A call.responded output taken from the frame as is (canonical JSON text).
  void handle_output_text(std::string_view output) {
    ++outputs_;
    auto alive = alive_;
    events_.on_output_text(output);
    if (!*alive) return;
    if (options_.kind && *options_.kind != call::OpKind::subscription) end(std::nullopt);
  }

  void handle_envelope(const wire::Envelope& env) {
    if (env.type == wire::kResponded) {
      const nlohmann::json& output =
          env.payload.contains("output") ? env.payload["output"] : env.payload;
      if (options_.carriage == call::Carriage::raw && string_field_is(output, "carriage", "raw")) {
        raw_ = true;
        if (events_.on_raw_open) events_.on_raw_open(bool_field(output, "tty"));
        return;
      }
      if (events_.on_output_text) {
        handle_output_text(output.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
      }
      ++outputs_;
      auto alive = alive_;
      if (events_.on_output) events_.on_output(output);
      if (!*alive) return;
      if (options_.kind && *options_.kind != call::OpKind::subscription) end(std::nullopt);
    } else if (env.type == wire::kCompleted) {
      end(std::nullopt);
    } else if (env.type == wire::kError) {
      end(CallError::from_payload(env.payload));
    }
  }

  void read_chunks(std::string_view input = {}) {
    auto alive = alive_;
    // An event handler may destroy this call mid-feed: the decoder lives on until feed() returns.
    std::shared_ptr<wire::ChunkDecoder> decoder = chunks_;
    // Output payloads reach the handler piece by piece as they arrive, without a copy; exit and
    // control messages come whole.
    decoder->feed(
        input,
        [](wire::ChunkType type) {
          return type == wire::ChunkType::stdout_data || type == wire::ChunkType::stderr_data;
        },
        [&](wire::ChunkType type, std::string_view payload, bool /*last*/) {
          handle_chunk(type, payload);
          return *alive && !ended_;
        });
    if (!*alive || ended_) return;
    if (decoder->error() != wire::ChunkError::none) {
      abort_call(CallError::internal(std::string("malformed chunk from the server: ") +
                                     wire::describe(decoder->error())));
    }
  }

  void handle_chunk(wire::ChunkType type, std::string_view payload) {
    if (type == wire::ChunkType::stdout_data || type == wire::ChunkType::stderr_data) {
      if (events_.on_chunk) events_.on_chunk(type, payload);
    } else if (type == wire::ChunkType::control_out) {
      auto alive = alive_;
      nlohmann::json msg = nlohmann::json::parse(payload, nullptr, false);
      if (string_field_is(msg, "type", "exit")) {
        const int code = exit_code_field(msg);
        if (events_.on_exit) events_.on_exit(code);
        if (!*alive) return;
        end(std::nullopt);
        return;
      }
      if (events_.on_control) events_.on_control(msg);
    }
  }

  void end(std::optional<CallError> error) {
    if (ended_) return;
    ended_ = true;
    // Our side is done too; the server already finished its side (or the stream broke).
    if (stream_) stream_->finish();
    if (events_.on_end) events_.on_end(std::move(error));
  }

  // The server's bytes broke the protocol: nothing more can be read from this stream, so it is
  // reset — the server cancels the call, a unix connection closes — not half-closed (a server
  // still answering would keep a half-closed stream, and its reader, open for good).
  void abort_call(CallError error) {
    if (ended_) return;
    ended_ = true;
    drop_stream();
    if (events_.on_end) events_.on_end(std::move(error));
  }

  CallEvents events_;
  CallOptions options_;
  transport::ByteStream* stream_ = nullptr;  // owned by its transport; cleared in on_closed
  transport::quic::QuicStream* quic_stream_ = nullptr;  // the same stream, when over QUIC
  std::shared_ptr<transport::quic::QuicClient> quic_;   // the connection this call uses
  uint64_t ticket_ = 0;                                 // a pending QUIC stream open
  transport::UnixConnectAttempt connecting_;            // a pending unix connect
  std::string outbox_;                                  // bytes queued before the connection exists
  wire::FrameDecoder frames_;
  std::shared_ptr<wire::ChunkDecoder> chunks_ = std::make_shared<wire::ChunkDecoder>();
  bool raw_ = false;
  bool ended_ = false;
  bool paused_ = false;
  size_t outputs_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

CallClient::CallClient(uv_loop_t* loop, Address address, ClientTlsOptions tls,
                       ClientQuicOptions quic)
    : loop_(loop),
      address_(std::move(address)),
      tls_(std::move(tls)),
      quic_options_(std::move(quic)) {}

CallClient::~CallClient() = default;

bool CallClient::connected() const {
  return quic_ && quic_->usable();
}

std::shared_ptr<transport::quic::QuicClient> CallClient::quic_connection() {
  if (quic_ && quic_->usable()) return quic_;
  transport::quic::QuicClientConfig config;
  config.host = address_.host;
  config.port = address_.port;
  config.tls.ca_file = tls_.ca;
  config.tls.cert_file = tls_.cert;
  config.tls.key_file = tls_.key;
  config.tls.server_name = tls_.server_name;
  if (!quic_options_.alpn.empty()) config.tls.alpn = quic_options_.alpn;
  config.quic.idle_timeout_ms = quic_options_.idle_timeout_ms;
  config.quic.keep_alive_ms = quic_options_.keep_alive_ms;
  config.quic.handshake_timeout_ms = quic_options_.handshake_timeout_ms;
  config.quic.max_streams_bidi = 0;
  quic_ = transport::quic::QuicClient::connect(loop_, std::move(config));
  return quic_;
}

std::unique_ptr<ClientCall> CallClient::call(std::string operation, nlohmann::json input,
                                             CallEvents events, CallOptions options) {
  const std::string id =
      options.request_id.empty() ? "c" + std::to_string(next_id_++) : options.request_id;
  nlohmann::json payload = {{"operationId", std::move(operation)}, {"input", std::move(input)}};
  if (options.carriage == call::Carriage::raw) payload["carriage"] = "raw";
  if (!options.auth_token.empty()) payload["auth_token"] = options.auth_token;
  std::string frame;
  wire::append_frame(frame, wire::Envelope{std::string(wire::kRequested), id, std::move(payload)});
  auto c = std::make_unique<StreamClientCall>(std::move(events), std::move(options));
  if (address_.kind == Address::Kind::quic) {
    c->connect_quic(quic_connection(), std::move(frame));
  } else {
    c->connect_unix(loop_, address_.path, std::move(frame));
  }
  return c;
}

}  // namespace alk::client

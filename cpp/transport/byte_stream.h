// One bidirectional byte stream carrying one call: a unix-socket connection, or a QUIC stream.
#pragma once

#include <string>
#include <string_view>

namespace alk::transport {

/// Receives what happens on a ByteStream. Callbacks run on the loop thread; a receiver may call
/// any ByteStream method from them.
class StreamReceiver {
 public:
  virtual ~StreamReceiver() = default;
  /// Bytes from the peer, in order; the view is valid only during the call. Returns how many,
  /// from the front, the receiver took. It takes fewer only after calling pause_reading(): the
  /// transport keeps the rest (a QUIC stream withholds their flow-control credit) and delivers it
  /// again, first, on a later loop turn once resume_reading() is called.
  virtual size_t on_bytes(std::string_view bytes) = 0;
  /// The peer half-closed (FIN): no more bytes will come; the stream can still be written.
  virtual void on_fin() = 0;
  /// The stream broke or the peer reset it: nothing more can be written. Last callback.
  virtual void on_reset() = 0;
  /// queued_bytes() fell to the low-water mark after being above the high-water mark.
  virtual void on_drain() = 0;
  /// Both directions are finished and the stream is about to be released. Last callback.
  virtual void on_closed() = 0;
};

/// The transport side of a call. Owned by its transport; the receiver must not outlive it.
class ByteStream {
 public:
  /// Above this many queued bytes the stream counts as congested (see writable()).
  static constexpr size_t kHighWater = 1u << 20;
  /// on_drain fires when the queue falls to this after congestion.
  static constexpr size_t kLowWater = 256u << 10;

  virtual ~ByteStream() = default;
  virtual void set_receiver(StreamReceiver* receiver) = 0;
  /// Queues bytes for the peer. Never fails synchronously; ignored after finish() or a reset.
  virtual void write(std::string bytes) = 0;
  /// Same as write(), copying `bytes`: the caller keeps its buffer (and its capacity) for the
  /// next message, and a transport that coalesces queued bytes saves an allocation per write.
  virtual void append(std::string_view bytes) { write(std::string(bytes)); }
  /// append(head) then append(body) as one write: a chunk's header and its payload, queued without
  /// first copying them into one buffer.
  virtual void append(std::string_view head, std::string_view body) {
    std::string both;
    both.reserve(head.size() + body.size());
    both.append(head).append(body);
    write(std::move(both));
  }
  /// Bytes accepted by write() that the transport has not yet handed off.
  virtual size_t queued_bytes() const = 0;
  /// Ends our direction (FIN) after every queued byte.
  virtual void finish() = 0;
  /// Aborts both directions at once (RST / close); queued bytes are dropped.
  virtual void reset() = 0;
  /// Input backpressure: stop/restart delivering on_bytes.
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;
  /// The peer, for log lines: the transport's name, then any `key=value` fields, none holding a
  /// space ("unix", "quic addr=127.0.0.1:5000 cert=SHA256:…").
  virtual std::string describe_peer() const = 0;
};

}  // namespace alk::transport

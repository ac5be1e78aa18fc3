// An append-at-the-back, consume-from-the-front byte buffer for incremental decoders.
#pragma once

#include <string>
#include <string_view>

namespace alk::wire {

/// Bytes received but not yet decoded. Consuming only advances an offset; the storage is compacted
/// when the consumed part dominates, so decoding N frames is O(total bytes), not O(N²).
class ByteQueue {
 public:
  void append(std::string_view bytes) {
    if (head_ == buf_.size()) clear();  // nothing pending: restart at offset 0, no copy
    buf_.append(bytes);
  }
  std::string_view view() const { return std::string_view(buf_).substr(head_); }
  size_t size() const { return buf_.size() - head_; }
  bool empty() const { return size() == 0; }

  /// Drops the first `n` pending bytes (n <= size()).
  void consume(size_t n) {
    head_ += n;
    if (head_ == buf_.size()) {
      clear();
    } else if (head_ > (size_t{64} << 10) && head_ * 2 > buf_.size()) {
      buf_.erase(0, head_);
      head_ = 0;
    }
  }

  /// Removes and returns every pending byte.
  std::string take_all() {
    std::string out = buf_.substr(head_);
    clear();
    return out;
  }

  void clear() {
    buf_.clear();
    head_ = 0;
  }

 private:
  std::string buf_;
  size_t head_ = 0;
};

}  // namespace alk::wire

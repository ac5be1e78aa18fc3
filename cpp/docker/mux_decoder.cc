#include "docker/mux_decoder.h"

#include "wire/envelope.h"

namespace alk::docker {

const char* describe(MuxError e) {
  switch (e) {
    case MuxError::none:
      return "no error";
    case MuxError::bad_stream_type:
      return "multiplexed stream: unknown stream type";
    case MuxError::bad_header:
      return "multiplexed stream: malformed frame header";
  }
  return "multiplexed stream: unknown error";
}

bool MuxDecoder::take_header() {
  header_len_ = 0;
  const auto type = static_cast<uint8_t>(header_[0]);
  if (type > static_cast<uint8_t>(MuxStream::system_err)) {
    error_ = MuxError::bad_stream_type;
    return false;
  }
  if (header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
    error_ = MuxError::bad_header;
    return false;
  }
  stream_ = static_cast<MuxStream>(type);
  remaining_ = wire::get_u32_be(header_ + 4);
  return true;
}

}  // namespace alk::docker

#include "support/recording_sink.h"

#include "wire/json_text.h"

namespace alk::test {

std::string RecordingSink::text_of(const std::string& stream) const {
  std::string out;
  for (const auto& o : outputs) {
    if (!o.is_object() || o.value("stream", "") != stream) continue;
    if (o.contains("text")) {
      out += o["text"].get<std::string>();
    } else if (o.contains("base64")) {
      wire::decode_base64(o["base64"].get<std::string>(), out);
    }
  }
  return out;
}

void RecordingSink::send_chunk(wire::ChunkType type, std::string_view bytes) {
  switch (type) {
    case wire::ChunkType::stdout_data:
      raw_stdout.append(bytes);
      break;
    case wire::ChunkType::stderr_data:
      raw_stderr.append(bytes);
      break;
    case wire::ChunkType::control_out:
      control_out.push_back(nlohmann::json::parse(bytes));
      break;
    default:
      break;
  }
}

}  // namespace alk::test

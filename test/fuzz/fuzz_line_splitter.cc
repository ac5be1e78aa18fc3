// Fuzzes the splitter of the daemon's JSON-lines bodies: any split gives the same lines as one
// push, a line over the limit is refused however it arrives, and no line handed out is blank, holds
// an LF or exceeds the limit.
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "wire/line_splitter.h"

namespace {

using alk::wire::LineSplitter;

struct Outcome {
  bool ok = true;
  std::vector<std::string> lines;
};

Outcome split(const std::vector<std::string>& pieces, size_t max_line) {
  LineSplitter s(max_line);
  Outcome o;
  std::string_view line;
  auto check = [](std::string_view l) {
    FUZZ_CHECK(l.find_first_not_of(" \t\r\n") != std::string_view::npos);
    FUZZ_CHECK(l.find('\n') == std::string_view::npos);
  };
  for (const std::string& p : pieces) {
    o.ok = s.push(p);
    if (!o.ok) break;
    while (s.next(line)) {
      check(line);
      FUZZ_CHECK(line.size() <= max_line);
      o.lines.emplace_back(line);
    }
  }
  if (o.ok && s.take_last(line)) {
    check(line);
    FUZZ_CHECK(line.size() <= max_line);
    o.lines.emplace_back(line);
  }
  if (!o.ok) FUZZ_CHECK(!s.push(""));  // sticky
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > alk::fuzz::kMaxInputBytes) return 0;
  FuzzedDataProvider fdp(data, size);
  const size_t max_line = fdp.ConsumeIntegralInRange<size_t>(1, 256);
  const std::vector<std::string> pieces = alk::fuzz::repeat(alk::fuzz::consume_pieces(fdp), 3);
  const std::string stream = alk::fuzz::join(pieces);

  const Outcome pieced = split(pieces, max_line);
  const Outcome whole = split({stream}, max_line);
  FUZZ_CHECK(pieced.ok == whole.ok);
  if (whole.ok) FUZZ_CHECK(pieced.lines == whole.lines);
  return 0;
}

// libFuzzer target for the Zeek decoders (zeek-tsv and zeek-json). Built only with
// -DVIGIL_BUILD_FUZZ=ON and clang:
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DVIGIL_BUILD_FUZZ=ON && \
//   cmake --build build-fuzz --target fuzz_zeek && ./build-fuzz/fuzz_zeek fuzz/corpus/zeek
// The first byte picks the decoder and a split point, so chunk boundaries are fuzzed too.
// Checks: no crash, no sanitizer report, consumed bytes within bounds, every event and
// reject positioned inside the input, and every string view of an event inside the input
// (or the JSON decoder's arena, which is not checked here).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/zeek/zeek_json.h"
#include "ingest/zeek/zeek_tsv.h"

using namespace vigil;
using namespace vigil::ingest;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void DecodeTwoChunks(Decoder& dec, const char* data, size_t size, size_t split) {
  // A padded copy, as the reader guarantees kReadPadding readable bytes after each chunk.
  std::unique_ptr<char[]> buf(new char[size + kReadPadding]);
  std::memcpy(buf.get(), data, size);
  std::memset(buf.get() + size, 0, kReadPadding);
  std::vector<Event> events;
  std::vector<Reject> rejects;
  size_t used = dec.Decode(std::string_view(buf.get(), split), ChunkStart{}, false, events,
                           rejects);
  Check(used <= split);
  uint64_t line = 1;
  for (size_t i = 0; i < used; ++i) line += buf[i] == '\n';
  size_t used2 = dec.Decode(std::string_view(buf.get() + used, size - used),
                            ChunkStart{0, line, used}, true, events, rejects);
  Check(used2 == size - used);
  for (const Event& e : events) {
    Check(e.pos.offset < size);
    Check(e.raw.data() >= buf.get() && e.raw.data() + e.raw.size() <= buf.get() + size);
    if (e.net.valid && !e.net.orig_h_text.empty()) {
      Check(e.net.orig_h_text.size() <= size);
    }
  }
  for (const Reject& r : rejects) Check(r.offset <= size && r.snippet.size() <= kMaxSnippetBytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  const char* text = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  size_t split = n == 0 ? 0 : (static_cast<size_t>(mode >> 1) * 2654435761u) % (n + 1);
  if (mode & 1) {
    zeek::ZeekJsonDecoder dec;
    DecodeTwoChunks(dec, text, n, split);
  } else {
    zeek::ZeekTsvDecoder dec;
    DecodeTwoChunks(dec, text, n, split);
  }
  return 0;
}

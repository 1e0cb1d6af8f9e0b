// libFuzzer target for the Zeek decoders (zeek-tsv and zeek-json). Built only with
// -DVIGIL_BUILD_FUZZ=ON and clang:
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DVIGIL_BUILD_FUZZ=ON && \
//   cmake --build build-fuzz --target fuzz_zeek && ./build-fuzz/fuzz_zeek fuzz/corpus/zeek
// The first byte picks the decoder and a split point, so chunk boundaries are fuzzed too.
// Checks: no crash, no sanitizer report, consumed bytes within bounds, every event and
// reject positioned inside the input, and for JSON that the canonical-form scanner and the
// simdjson path give the same events and rejects (differential fuzzing).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
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

// Decodes in two chunks split at `split`; returns a summary of events and rejects.
std::string DecodeTwoChunks(Decoder& dec, const char* data, size_t size, size_t split) {
  // A padded copy, as the reader guarantees kReadPadding readable bytes after each chunk.
  std::unique_ptr<char[]> buf(new char[size + kReadPadding]);
  std::memcpy(buf.get(), data, size);
  std::memset(buf.get() + size, 0, kReadPadding);
  std::vector<Event> events;
  std::vector<Reject> rejects;
  size_t used =
      dec.Decode(std::string_view(buf.get(), split), ChunkStart{}, false, events, rejects);
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
  std::string summary;
  for (const Event& e : events) {
    summary += std::to_string(e.pos.offset) + ":" + std::to_string(e.time) + ":" +
               std::string(e.uid) + ":" + e.net.orig_h.ToString() + ":" +
               std::to_string(e.net.resp_p) + "\n";
    if (auto* h = e.As<HttpBody>()) summary += std::string(h->user_agent) + "\n";
    if (auto* d = e.As<DnsBody>()) summary += std::string(d->answers) + "\n";
  }
  for (const Reject& r : rejects) {
    Check(r.offset <= size && r.snippet.size() <= kMaxSnippetBytes);
    summary += "R" + std::to_string(r.offset) + r.code + "\n";
  }
  return summary;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  const char* text = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  size_t split = n == 0 ? 0 : (static_cast<size_t>(mode >> 1) * 2654435761u) % (n + 1);
  if (mode & 1) {
    // Differential: the canonical-form scanner must agree with the simdjson path.
    zeek::ZeekJsonDecoder fast(true), slow(false);
    std::string a = DecodeTwoChunks(fast, text, n, split);
    std::string b = DecodeTwoChunks(slow, text, n, split);
    Check(a == b);
  } else {
    zeek::ZeekTsvDecoder dec;
    DecodeTwoChunks(dec, text, n, split);
  }
  return 0;
}

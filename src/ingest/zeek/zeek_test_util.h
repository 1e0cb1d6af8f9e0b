// Helpers shared by the Zeek decoder tests (not part of the library).
#pragma once

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/decoder.h"

namespace vigil::ingest::zeek::testing {

inline std::string ReadTestData(const std::string& name) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/tests/data/zeek/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The result of decoding a whole input; owns the bytes the events point into.
struct Decoded {
  std::unique_ptr<char[]> bytes;
  size_t consumed = 0;
  std::vector<Event> events;
  std::vector<Reject> rejects;
};

// Decodes `text` as one chunk (at_end) starting at line 1, offset 0, with the kReadPadding
// bytes the decoder contract promises after the chunk (filled with garbage on purpose).
inline Decoded DecodeAll(Decoder& dec, const std::string& text, bool at_end = true) {
  Decoded d;
  d.bytes = std::make_unique<char[]>(text.size() + kReadPadding);
  std::memcpy(d.bytes.get(), text.data(), text.size());
  std::memset(d.bytes.get() + text.size(), '}', kReadPadding);
  d.consumed = dec.Decode(std::string_view(d.bytes.get(), text.size()), ChunkStart{}, at_end,
                          d.events, d.rejects);
  return d;
}

}  // namespace vigil::ingest::zeek::testing

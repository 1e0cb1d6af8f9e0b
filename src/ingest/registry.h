// The format registry: maps a format name to its decoder factory and to a sniff function
// that recognises the format from the first bytes of an input (STYLE.md rule 2: formats
// register themselves, there is no switch). Each format folder registers with
// VIGIL_REGISTER_FORMAT in its own .cc file; the ingest library is linked whole so the
// registrations are kept.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/decoder.h"

namespace vigil::ingest {

struct FormatInfo {
  std::string name;         // "zeek-tsv", "zeek-json", "suricata-eve", "cloudtrail" ...
  std::string description;  // one line for --help and docs
  std::function<std::unique_ptr<Decoder>()> make;
  // Confidence 0-100 that `head` (the first up to 64 KiB of the decompressed input) is in
  // this format; `path` is a hint only (a file name such as "conn.log"). Must be pure and
  // must not throw.
  std::function<int(std::string_view head, std::string_view path)> sniff;
};

class FormatRegistry {
 public:
  // The process-wide registry. Registration happens during static initialisation; after
  // main() starts it is read-only, so concurrent lookups are safe.
  static FormatRegistry& Global();

  void Add(FormatInfo info);
  const FormatInfo* Find(std::string_view name) const;
  // The format with the highest confidence above 50, or nullptr.
  const FormatInfo* Sniff(std::string_view head, std::string_view path) const;
  const std::vector<FormatInfo>& formats() const { return formats_; }

 private:
  std::vector<FormatInfo> formats_;
};

struct FormatRegistrar {
  explicit FormatRegistrar(FormatInfo info) { FormatRegistry::Global().Add(std::move(info)); }
};

}  // namespace vigil::ingest

#define VIGIL_FORMAT_CONCAT2(a, b) a##b
#define VIGIL_FORMAT_CONCAT(a, b) VIGIL_FORMAT_CONCAT2(a, b)
// Usage at namespace scope in a .cc file: VIGIL_REGISTER_FORMAT(FormatInfo{...});
#define VIGIL_REGISTER_FORMAT(...)                                                    \
  static ::vigil::ingest::FormatRegistrar VIGIL_FORMAT_CONCAT(vigil_format_registrar_, \
                                                              __LINE__)(__VA_ARGS__)

// A light scan of raw JSON text for one string member, for the few places that keep a
// record's nested JSON as text (CloudTrail requestParameters, responseElements) and need
// one value out of it without a parse. Pure, never throws, never allocates.
#pragma once

#include <string_view>

namespace vigil {

// The raw (still escaped) value of the first member named `key` whose value is a string,
// at any depth: {"userName":"bob"} -> "bob". Empty when there is none, or when the first
// such member holds a non-string. Not a validator: text that is not JSON gives empty or a
// best-effort slice.
inline std::string_view FindJsonStringMember(std::string_view raw, std::string_view key) {
  auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  if (key.empty()) return {};
  size_t from = 0;
  while (true) {
    size_t k = raw.find(key, from);
    if (k == std::string_view::npos) return {};
    from = k + 1;
    size_t after = k + key.size();
    if (k == 0 || raw[k - 1] != '"' || after >= raw.size() || raw[after] != '"') continue;
    size_t i = after + 1;
    while (i < raw.size() && is_ws(raw[i])) ++i;
    if (i >= raw.size() || raw[i] != ':') continue;
    ++i;
    while (i < raw.size() && is_ws(raw[i])) ++i;
    if (i >= raw.size() || raw[i] != '"') return {};
    size_t begin = ++i;
    for (; i < raw.size(); ++i) {
      if (raw[i] == '\\') {
        ++i;
      } else if (raw[i] == '"') {
        return raw.substr(begin, i - begin);
      }
    }
    return {};
  }
}

}  // namespace vigil

// JSON string unescaping shared by the JSON decoders (Suricata eve, Defender). simdjson
// hands out raw (still escaped) string bytes when a decoder wants a view into the input; a
// value that contains a backslash is unescaped here into a buffer the decoder then keeps.
#pragma once

#include <string>
#include <string_view>

namespace vigil::ingest {

// Unescapes the body of a JSON string (without its quotes) into `out` (cleared first).
// \uXXXX becomes UTF-8; a lone or broken surrogate becomes U+FFFD. Returns false on a bad
// escape (an unknown letter, a cut \u, a trailing backslash); `out` is then unspecified.
bool UnescapeJsonString(std::string_view escaped, std::string& out);

}  // namespace vigil::ingest

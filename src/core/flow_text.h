// The text of a flow, as the console and a breach's event reference show it:
//   "10.0.0.5:51234 -> 1.2.3.4:443/tcp 1.2 KB out, 3.4 KB in, SF"
// Written for every flow the event log keeps (detect::AppendEventSummary), and again when a
// flow's row, stored packed, is read back (store/event_rows.h): one implementation, so both
// say the same. The pieces are written in place (one resize of the string each), not
// appended one by one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"

namespace vigil {

// "10.0.0.5:51234 -> 1.2.3.4:443/tcp" ("/tcp" left out for Proto::kUnknown).
void AppendEndpoints(std::string& s, std::string_view orig_h, uint16_t orig_p,
                     std::string_view resp_h, uint16_t resp_p, Proto proto);
// " 1.2 KB out, 3.4 KB in, SF" (", SF" left out for an empty state).
void AppendFlowCounts(std::string& s, uint64_t orig_bytes, uint64_t resp_bytes,
                      std::string_view conn_state);
// "512 B", "1.2 KB", "3.4 MB", "5.6 GB": the count over 1024, 1024^2 or 1024^3 to one
// decimal, as printf's "%.1f" writes the quotient.
void AppendHumanBytes(std::string& s, uint64_t bytes);

}  // namespace vigil

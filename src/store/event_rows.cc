#include "store/event_rows.h"

#include <cstring>

#include "core/flow_text.h"
#include "store/crc32.h"

namespace vigil::store {

size_t RowSize(const char* p, size_t n, bool check_crc) {
  using namespace rows;
  if (n < kHeader) return 0;
  uint32_t size = Load<uint32_t>(p), crc = Load<uint32_t>(p + 4);
  if (size < kFixed || size > kMaxPayload || n - kHeader < size) return 0;
  const char* q = p + kHeader;
  size_t strings = 0;
  for (int i = 0; i < 6; ++i) strings += Load<uint16_t>(q + 32 + 2 * i);
  if (kFixed + strings != size) return 0;
  if (check_crc && Crc32(q, size) != crc) return 0;
  return kHeader + size;
}

RowView DecodeRow(const char* p) {
  using namespace rows;
  RowView r;
  const char* q = p + kHeader;
  r.time = Load<int64_t>(q);
  r.line = Load<uint64_t>(q + 8);
  r.offset = Load<uint64_t>(q + 16);
  r.bytes = Load<uint64_t>(q + 24);
  const char* s = q + kFixed;
  std::string_view* fields[6] = {&r.entity, &r.peer, &r.kind, &r.summary, &r.uid, &r.input};
  for (int i = 0; i < 6; ++i) {
    size_t len = Load<uint16_t>(q + 32 + 2 * i);
    *fields[i] = std::string_view(s, len);
    s += len;
  }
  return r;
}

bool PackFlowSummary(std::string& out, std::string_view orig_h, uint16_t orig_p,
                     std::string_view resp_h, uint16_t resp_p, Proto proto, uint64_t orig_bytes,
                     uint64_t resp_bytes, std::string_view conn_state) {
  if (orig_h.size() > 255 || resp_h.size() > 255 || conn_state.size() > 255) return false;
  const size_t at = out.size();
  out.resize(at + rows::kPackedFlowFixed + 3 + orig_h.size() + resp_h.size() + conn_state.size());
  char* p = out.data() + at;
  *p++ = rows::kPackedFlow;
  *p++ = static_cast<char>(proto);
  std::memcpy(p, &orig_p, 2);
  std::memcpy(p + 2, &resp_p, 2);
  std::memcpy(p + 4, &orig_bytes, 8);
  std::memcpy(p + 12, &resp_bytes, 8);
  p = out.data() + at + rows::kPackedFlowFixed;
  for (std::string_view t : {orig_h, resp_h, conn_state}) {
    *p++ = static_cast<char>(t.size());
    std::memcpy(p, t.data(), t.size());
    p += t.size();
  }
  return true;
}

std::string_view SummaryText(std::string_view stored, std::string& scratch) {
  if (stored.empty() || stored[0] != rows::kPackedFlow) return stored;
  scratch.clear();
  if (stored.size() < rows::kPackedFlowFixed) return scratch;
  const char* p = stored.data() + 1;
  const char* end = stored.data() + stored.size();
  const auto proto = static_cast<Proto>(static_cast<uint8_t>(*p++));
  const auto orig_p = rows::Load<uint16_t>(p), resp_p = rows::Load<uint16_t>(p + 2);
  const auto orig_bytes = rows::Load<uint64_t>(p + 4), resp_bytes = rows::Load<uint64_t>(p + 12);
  p = stored.data() + rows::kPackedFlowFixed;
  std::string_view texts[3];
  for (std::string_view& t : texts) {
    if (p >= end) return scratch;
    const size_t n = static_cast<uint8_t>(*p++);
    if (static_cast<size_t>(end - p) < n) return scratch;
    t = std::string_view(p, n);
    p += n;
  }
  const Proto known = proto <= Proto::kIcmp ? proto : Proto::kUnknown;
  AppendEndpoints(scratch, texts[0], orig_p, texts[1], resp_p, known);
  AppendFlowCounts(scratch, orig_bytes, resp_bytes, texts[2]);
  return scratch;
}

EventRows::EventRows(const std::vector<EventRecord>& records) {
  for (const EventRecord& e : records) Add(e);
}

void EventRows::Add(const EventRecord& e) {
  Add(e.time, e.entity, e.peer, e.kind, e.uid, e.input, e.line, e.offset, e.bytes,
      [&e](std::string& out) { out.append(e.summary); });
}

size_t EventRows::SetChecksum(size_t at) {
  char* p = buf_.data() + at;
  const uint32_t size = rows::Load<uint32_t>(p);
  const uint32_t crc = Crc32(p + rows::kHeader, size);
  std::memcpy(p + 4, &crc, 4);
  return rows::kHeader + size;
}

}  // namespace vigil::store

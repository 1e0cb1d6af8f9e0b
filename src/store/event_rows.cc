#include "store/event_rows.h"

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

// The event log's row format, and EventRows: a batch of events packed in it.
//
// A row is [u32 payload size][u32 crc32 of payload][payload], the payload being time, line,
// offset, bytes (64 bits each), six u16 lengths, then the entity, peer, kind, summary, uid
// and input texts. The SQLite backend's segment files are rows one after another
// (event_files.h). The engine's event log packs each event straight into a batch of rows
// (EventLog::Add); the SQLite store fills in the checksums and writes the batch as it is,
// and PostgreSQL reads the rows' fields. So an event is copied once on its way to disk,
// not into a record of six strings, then into a row, then checked by decoding the row.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/time.h"
#include "store/store.h"

namespace vigil::store {

namespace rows {

// A text longer than this is cut; ids and paths are far shorter.
inline constexpr size_t kMaxField = 65535;
inline constexpr size_t kFixed = 4 * 8 + 6 * 2;  // time, line, offset, bytes; six lengths
inline constexpr size_t kHeader = 8;             // payload size, crc32
inline constexpr size_t kMaxPayload = kFixed + 6 * kMaxField;

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace rows

// A flow's summary is stored packed, not as text. The engine thread writes a row for every
// flow, and formatting its text ("10.0.0.5:51234 -> 1.2.3.4:443/tcp 1.2 KB out, 3.4 KB in,
// SF", core/flow_text.h) was about 40 % of the event log's work on that thread; the text is
// made when a row is read (SummaryText), for the rows a query returns or searches.
//
// A packed summary is the byte kPackedFlow (0x01: a text summary starts with an address,
// a name or a space, never a control byte), then proto (u8), orig_p and resp_p (u16),
// orig_bytes and resp_bytes (u64), then three texts, each after its u8 length: the two
// addresses and the connection state. Returns false, having written nothing, when a text
// is over 255 bytes (the caller writes the text instead).
namespace rows {
inline constexpr char kPackedFlow = '\x01';
// The marker, proto, two ports and two byte counts, before the three texts.
inline constexpr size_t kPackedFlowFixed = 1 + 1 + 2 * 2 + 2 * 8;
}  // namespace rows
bool PackFlowSummary(std::string& out, std::string_view orig_h, uint16_t orig_p,
                     std::string_view resp_h, uint16_t resp_p, Proto proto, uint64_t orig_bytes,
                     uint64_t resp_bytes, std::string_view conn_state);
// A stored summary's text: `stored` itself, or the text of a packed flow, written into
// `scratch` (the view points there). Packed bytes that do not parse read as "".
std::string_view SummaryText(std::string_view stored, std::string& scratch);

// One decoded row; the views point into the bytes it was decoded from (`summary` is the
// summary as stored: SummaryText gives its text).
struct RowView {
  Micros time = 0;
  uint64_t line = 0, offset = 0, bytes = 0;
  std::string_view entity, peer, kind, summary, uid, input;
  EventRecord ToRecord() const {
    std::string scratch;
    return EventRecord{time,
                       std::string(entity),
                       std::string(peer),
                       std::string(kind),
                       std::string(SummaryText(summary, scratch)),
                       std::string(uid),
                       std::string(input),
                       line,
                       offset,
                       bytes};
  }
};

// The size of the row starting at `p` (header included) if `n` bytes hold a whole, intact
// row (with check_crc, its checksum too); 0 otherwise (torn, zeroed or corrupt).
size_t RowSize(const char* p, size_t n, bool check_crc);
// Decodes an intact row (RowSize said so).
RowView DecodeRow(const char* p);

class EventRows {
 public:
  EventRows() = default;
  // The rows of `records`, in order (Store::PutEvents, EventFiles::Put).
  explicit EventRows(const std::vector<EventRecord>& records);
  // A batch moved from is empty (the event log refills batches it has handed over).
  EventRows(EventRows&& o) noexcept : buf_(std::move(o.buf_)), rows_(std::exchange(o.rows_, 0)) {
    o.buf_.clear();
  }
  EventRows& operator=(EventRows&& o) noexcept {
    buf_ = std::move(o.buf_);
    rows_ = std::exchange(o.rows_, 0);
    o.buf_.clear();
    return *this;
  }

  // Appends a row. The summary is written in place: `write_summary(out)` appends it to
  // `out` (a long one is cut to rows::kMaxField bytes, as every text is).
  template <typename WriteSummary>
  void Add(Micros time, std::string_view entity, std::string_view peer, std::string_view kind,
           std::string_view uid, std::string_view input, uint64_t line, uint64_t offset,
           uint64_t bytes, WriteSummary&& write_summary) {
    const size_t at = buf_.size();
    buf_.resize(at + rows::kHeader + rows::kFixed);  // filled in once the lengths are known
    uint16_t len[6];
    len[0] = Append(entity);
    len[1] = Append(peer);
    len[2] = Append(kind);
    const size_t summary_at = buf_.size();
    write_summary(buf_);
    if (buf_.size() - summary_at > rows::kMaxField) buf_.resize(summary_at + rows::kMaxField);
    len[3] = static_cast<uint16_t>(buf_.size() - summary_at);
    len[4] = Append(uid);
    len[5] = Append(input);
    char* p = buf_.data() + at;
    const auto payload = static_cast<uint32_t>(buf_.size() - at - rows::kHeader);
    const uint32_t crc = 0;  // SetChecksum's, when the row is stored
    const int64_t t = time;
    std::memcpy(p, &payload, 4);
    std::memcpy(p + 4, &crc, 4);
    std::memcpy(p + 8, &t, 8);
    std::memcpy(p + 16, &line, 8);
    std::memcpy(p + 24, &offset, 8);
    std::memcpy(p + 32, &bytes, 8);
    std::memcpy(p + 40, len, sizeof len);
    ++rows_;
  }
  // The same row from a record.
  void Add(const EventRecord& e);

  size_t size() const { return rows_; }
  bool empty() const { return rows_ == 0; }
  // Empties the batch and keeps its buffer (a recycled batch allocates nothing).
  void clear() {
    buf_.clear();
    rows_ = 0;
  }
  // The rows, one after another.
  const std::string& data() const { return buf_; }
  // Computes and stores the checksum of the row at `at` (an offset in data()); returns the
  // row's size, header included.
  size_t SetChecksum(size_t at);
  // Calls fn(row) for each row, in order.
  template <typename F>
  void ForEach(F&& fn) const {
    for (size_t at = 0; at < buf_.size();) {
      fn(DecodeRow(buf_.data() + at));
      at += rows::kHeader + rows::Load<uint32_t>(buf_.data() + at);
    }
  }

 private:
  uint16_t Append(std::string_view s) {
    if (s.size() > rows::kMaxField) s = s.substr(0, rows::kMaxField);
    buf_.append(s);
    return static_cast<uint16_t>(s.size());
  }
  std::string buf_;
  size_t rows_ = 0;
};

}  // namespace vigil::store

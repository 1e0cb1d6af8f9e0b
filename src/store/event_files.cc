#include "store/event_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include <absl/container/flat_hash_map.h>

#include "core/hash.h"
#include "store/event_rows.h"
#include "store/store_internal.h"

namespace vigil::store {

namespace {

// The row format is event_rows.h's.
constexpr size_t kRowHeader = rows::kHeader;
constexpr size_t kMaxPayload = rows::kMaxPayload;
using rows::Load;
constexpr char kIdxMagic[8] = {'V', 'G', 'L', 'E', 'I', 'D', 'X', '1'};
constexpr size_t kReadChunk = 1 << 20;

struct IdxHeader {
  char magic[8];
  uint64_t rows, dead, bytes, n_entity, n_peer;
  int64_t first, last, cut;
};
static_assert(sizeof(IdxHeader) == 72);
static_assert(sizeof(EventFiles::Key) == 24);

std::atomic<int64_t> g_segment_rows{kDefaultEventSegmentRows};

uint64_t IdKey(std::string_view id) { return HashValue(id); }

std::string Errno(const std::string& what) { return "event log: " + what + ": " + std::strerror(errno); }

// A read-only MAP_SHARED view of a whole file (it sees the writer's in-place header
// updates). Empty files are not mapped.
struct Mapping {
  const char* data = nullptr;
  size_t size = 0;
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { Reset(); }
  void Reset() {
    if (data) munmap(const_cast<char*>(data), size);
    data = nullptr;
    size = 0;
  }
  Status Map(const std::string& path) {
    Reset();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError(Errno("open " + path));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      ::close(fd);
      return IoError(Errno("stat " + path));
    }
    if (st.st_size > 0) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        return IoError(Errno("mmap " + path));
      }
      data = static_cast<const char*>(p);
      size = static_cast<size_t>(st.st_size);
    }
    ::close(fd);
    return Status::Ok();
  }
};

// Inlined into the sorts and searches that take it (as a plain function it was called once
// per comparison, about a third of the sealing sort's time).
inline __attribute__((always_inline)) bool KeyLess(const EventFiles::Key& a, const EventFiles::Key& b) {
  if (a.key != b.key) return a.key < b.key;
  if (a.time != b.time) return a.time < b.time;
  return a.pos < b.pos;
}

// Sorts a sealing segment's keys by KeyLess. The ids' hashes are uniform, so one counting
// pass on their top 12 bits splits 250,000 keys into 4,096 buckets of about 60, which
// std::sort finishes in cache: about three times faster than sorting them whole. Keys of
// one busy id share a bucket and are simply sorted there.
void SortKeys(std::vector<EventFiles::Key>& keys, std::vector<EventFiles::Key>& scratch) {
  constexpr int kBits = 12;
  constexpr size_t kBuckets = size_t{1} << kBits;
  if (keys.size() < 4 * kBuckets) {
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return KeyLess(a, b); });
    return;
  }
  std::vector<uint32_t> start(kBuckets + 1, 0);
  for (const auto& k : keys) ++start[(k.key >> (64 - kBits)) + 1];
  for (size_t b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
  std::vector<uint32_t> next(start.begin(), start.end() - 1);
  scratch.resize(keys.size());
  for (const auto& k : keys) scratch[next[k.key >> (64 - kBits)]++] = k;
  for (size_t b = 0; b < kBuckets; ++b)
    std::sort(scratch.begin() + start[b], scratch.begin() + start[b + 1],
              [](const auto& x, const auto& y) { return KeyLess(x, y); });
  keys.swap(scratch);
}

// Writes n bytes at `at` (pwrite: the rows file is appended at its intact end, also after
// a repair cut a torn row off).
Status WriteAll(int fd, const char* p, size_t n, uint64_t at, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError(Errno("write " + path));
    }
    p += w;
    at += static_cast<uint64_t>(w);
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

}  // namespace

struct EventFiles::Segment {
  int64_t id = 0;
  bool sealed = false;
  uint64_t rows = 0, dead = 0;
  uint64_t bytes = 0;  // intact bytes of <id>.rows: scanned, or written by this process
  Micros first = INT64_MAX, last = INT64_MIN, cut = INT64_MIN;
  // Sealed: both files mapped.
  Mapping rows_map, idx_map;
  const Key* by_entity = nullptr;
  const Key* by_peer = nullptr;
  uint64_t n_entity = 0, n_peer = 0;
  // Open: the keys in arrival order, and the rows file (appended to by the writer).
  std::vector<Key> open_entity, open_peer;
  int fd = -1;
  ino_t inode = 0;  // of <id>.rows
  bool bad_index = false;  // an <id>.idx that does not fit: reported once, then ignored

  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
  uint64_t live() const { return rows - dead; }
  Micros effective_first() const { return std::max(first, cut); }

  // The row at `pos`, or nullopt if it cannot be read. `buf` backs the views of an open
  // segment's row.
  std::optional<RowView> Row(uint64_t pos, std::string& buf) const {
    if (sealed) {
      if (pos >= rows_map.size) return std::nullopt;
      size_t n = RowSize(rows_map.data + pos, rows_map.size - pos, false);
      if (n == 0) return std::nullopt;
      return DecodeRow(rows_map.data + pos);
    }
    if (pos >= bytes) return std::nullopt;
    size_t want = std::min<uint64_t>(bytes - pos, 512);
    buf.resize(want);
    if (::pread(fd, buf.data(), want, static_cast<off_t>(pos)) != static_cast<ssize_t>(want)) return std::nullopt;
    uint32_t size = Load<uint32_t>(buf.data());
    if (kRowHeader + size > want) {
      if (size > kMaxPayload || pos + kRowHeader + size > bytes) return std::nullopt;
      buf.resize(kRowHeader + size);
      ssize_t got = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
      if (got != static_cast<ssize_t>(buf.size())) return std::nullopt;
    }
    if (RowSize(buf.data(), buf.size(), false) == 0) return std::nullopt;
    return DecodeRow(buf.data());
  }

  // Calls fn(pos, row) for each row from the `skip`-th on, in arrival order.
  template <typename F>
  void ForEachRow(uint64_t skip, F&& fn) const {
    if (sealed) {
      uint64_t pos = 0;
      for (uint64_t i = 0; pos < rows_map.size; ++i) {
        size_t n = RowSize(rows_map.data + pos, rows_map.size - pos, false);
        if (n == 0) return;
        if (i >= skip) fn(pos, DecodeRow(rows_map.data + pos));
        pos += n;
      }
      return;
    }
    std::string buf;
    for (uint64_t i = skip; i < open_entity.size(); ++i) {
      auto r = Row(open_entity[i].pos, buf);
      if (r) fn(open_entity[i].pos, *r);
    }
  }

  // Index entries of `key` with time in [lo, hi), by entity (as_peer false) or by peer.
  template <typename F>
  void Find(uint64_t key, Micros lo, Micros hi, bool as_peer, F&& fn) const {
    lo = std::max(lo, cut);
    if (sealed) {
      const Key* b = as_peer ? by_peer : by_entity;
      const Key* e = b + (as_peer ? n_peer : n_entity);
      const Key* from = std::lower_bound(b, e, Key{key, lo, 0}, KeyLess);
      for (const Key* k = from; k != e && k->key == key && k->time < hi; ++k) fn(*k);
      return;
    }
    for (const Key& k : as_peer ? open_peer : open_entity)
      if (k.key == key && k.time >= lo && k.time < hi) fn(k);
  }

  // Adds one row's keys and time span (the writer, and readers catching up).
  void Note(const RowView& r, uint64_t pos) {
    open_entity.push_back({IdKey(r.entity), r.time, pos});
    if (!r.peer.empty()) open_peer.push_back({IdKey(r.peer), r.time, pos});
    ++rows;
    first = std::min(first, r.time);
    last = std::max(last, r.time);
  }
};

namespace {

IdxHeader HeaderOf(const EventFiles::Segment& s) {
  IdxHeader h{};
  std::memcpy(h.magic, kIdxMagic, 8);
  h.rows = s.rows;
  h.dead = s.dead;
  h.bytes = s.bytes;
  h.n_entity = s.sealed ? s.n_entity : s.open_entity.size();
  h.n_peer = s.sealed ? s.n_peer : s.open_peer.size();
  h.first = s.first;
  h.last = s.last;
  h.cut = s.cut;
  return h;
}

}  // namespace

std::string EventFiles::Path(int64_t id, const char* ext) const {
  return dir_ + "/" + std::to_string(id) + ext;
}

Result<std::unique_ptr<EventFiles>> EventFiles::Open(const std::string& dir) {
  std::string events = (std::filesystem::path(dir) / "events").string();
  std::error_code ec;
  std::filesystem::create_directories(events, ec);
  if (ec) return IoError("event log: cannot create " + events + ": " + ec.message());
  std::unique_ptr<EventFiles> f(new EventFiles(events));
  std::lock_guard lock(f->mu_);
  VIGIL_RETURN_IF_ERROR(f->Refresh());
  return f;
}

EventFiles::EventFiles(std::string dir) : dir_(std::move(dir)) {}

EventFiles::~EventFiles() {
  segments_.clear();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status EventFiles::Refresh() {
  // The segments on disk: <id>.rows, sealed when <id>.idx is there too.
  struct OnDisk {
    bool sealed = false;
    ino_t inode = 0;  // of <id>.rows: an id used again after every segment was pruned is new
  };
  std::map<int64_t, OnDisk> on_disk;
  DIR* d = opendir(dir_.c_str());
  if (!d) return IoError(Errno("open " + dir_));
  while (dirent* ent = readdir(d)) {
    std::string_view name = ent->d_name;
    size_t dot = name.find('.');
    if (dot == 0 || dot == std::string_view::npos) continue;
    int64_t id = 0;
    bool digits = true;
    for (char c : name.substr(0, dot)) {
      if (c < '0' || c > '9' || id > INT64_MAX / 10) digits = false;
      id = digits ? id * 10 + (c - '0') : 0;
    }
    if (!digits) continue;
    std::string_view ext = name.substr(dot);
    if (ext == ".rows") on_disk[id].inode = ent->d_ino;
    if (ext == ".idx") on_disk[id].sealed = true;
  }
  closedir(d);
  for (auto it = segments_.begin(); it != segments_.end();) {
    auto d = on_disk.find(it->first);
    bool same = d != on_disk.end() && d->second.inode == it->second->inode;
    it = same ? std::next(it) : segments_.erase(it);
  }
  for (const auto& [id, disk] : on_disk) {
    if (disk.inode == 0) continue;  // an index without its rows: nothing to read
    const bool sealed = disk.sealed;
    auto& seg = segments_[id];
    if (!seg) {
      seg = std::make_unique<Segment>();
      seg->id = id;
      seg->inode = disk.inode;
    }
    Segment& s = *seg;
    if (sealed && (s.sealed || MapSealed(s))) {
      // The writer prunes in place: the cut may have moved.
      auto h = Load<IdxHeader>(s.idx_map.data);
      s.dead = h.dead;
      s.cut = h.cut;
      continue;
    }
    // Unsealed: catch up on the rows appended since we last looked.
    if (s.fd < 0) {
      std::string path = Path(id, ".rows");
      s.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (s.fd < 0) return IoError(Errno("open " + path));
    }
    std::string buf;
    uint64_t pos = s.bytes;
    for (;;) {
      size_t have = buf.size();
      buf.resize(have + kReadChunk);
      ssize_t got = ::pread(s.fd, buf.data() + have, kReadChunk, static_cast<off_t>(pos + have));
      if (got < 0) return IoError(Errno("read " + Path(id, ".rows")));
      buf.resize(have + static_cast<size_t>(got));
      size_t at = 0;
      while (size_t n = RowSize(buf.data() + at, buf.size() - at, true)) {
        s.Note(DecodeRow(buf.data() + at), pos + at);
        at += n;
      }
      pos += at;
      buf.erase(0, at);
      if (got == 0 || (at == 0 && buf.size() > kRowHeader + kMaxPayload)) break;
    }
    s.bytes = pos;
  }
  return Status::Ok();
}

bool EventFiles::MapSealed(Segment& s) {
  // Newly sealed (or first seen): map both files and check that the index fits its rows.
  // An index that does not (a disk error, a copy cut short) is ignored: the rows are read
  // as an unsealed segment's, and the writer seals them again.
  std::string idx = Path(s.id, ".idx");
  Status st = s.idx_map.Map(idx);
  if (st.ok()) st = s.rows_map.Map(Path(s.id, ".rows"));
  IdxHeader h{};
  if (st.ok() && (s.idx_map.size < sizeof(IdxHeader) || std::memcmp(s.idx_map.data, kIdxMagic, 8) != 0))
    st = Corrupt("event log: " + idx + ": not an index file");
  if (st.ok()) {
    h = Load<IdxHeader>(s.idx_map.data);
    if (s.idx_map.size != sizeof(IdxHeader) + (h.n_entity + h.n_peer) * sizeof(Key) || s.rows_map.size < h.bytes ||
        h.n_entity != h.rows || h.n_peer > h.rows)
      st = Corrupt("event log: " + idx + ": sizes do not match its rows");
  }
  if (!st.ok()) {
    if (!s.bad_index) std::fprintf(stderr, "vigil: %s (reading the rows instead)\n", st.ToString().c_str());
    s.bad_index = true;
    s.idx_map.Reset();
    s.rows_map.Reset();
    return false;
  }
  s.sealed = true;
  s.bad_index = false;
  // The keys are in the index now; their buffers go back to the writer for its next
  // segment.
  s.open_entity.clear();
  s.open_peer.clear();
  if (s.open_entity.capacity() > spare_entity_.capacity()) spare_entity_.swap(s.open_entity);
  if (s.open_peer.capacity() > spare_peer_.capacity()) spare_peer_.swap(s.open_peer);
  s.open_entity = {};
  s.open_peer = {};
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.rows = h.rows;
  s.bytes = h.bytes;
  s.first = h.first;
  s.last = h.last;
  s.n_entity = h.n_entity;
  s.n_peer = h.n_peer;
  s.by_entity = reinterpret_cast<const Key*>(s.idx_map.data + sizeof(IdxHeader));
  s.by_peer = s.by_entity + h.n_entity;
  return true;
}

Status EventFiles::BecomeWriter() {
  if (writer_) return Status::Ok();
  std::string path = dir_ + "/LOCK";
  if (lock_fd_ < 0) {
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return IoError(Errno("open " + path));
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Unavailable("event log: " + dir_ + " is being written by another Vigil process");
    return IoError(Errno("lock " + path));
  }
  writer_ = true;
  VIGIL_RETURN_IF_ERROR(Refresh());
  // Repair: a torn last row (a crash mid-write) is cut off; every unsealed segment but the
  // newest is sealed; the newest stays open for appending.
  int64_t newest = segments_.empty() ? 0 : segments_.rbegin()->first;
  std::vector<int64_t> empty_or_seal;
  for (auto& [id, seg] : segments_) {
    Segment& s = *seg;
    if (s.sealed) continue;
    std::string rows = Path(id, ".rows");
    ::close(s.fd);
    s.fd = ::open(rows.c_str(), O_RDWR | O_CLOEXEC);
    if (s.fd < 0) return IoError(Errno("open " + rows));
    if (::ftruncate(s.fd, static_cast<off_t>(s.bytes)) != 0) return IoError(Errno("truncate " + rows));
    if (id != newest) empty_or_seal.push_back(id);
  }
  for (int64_t id : empty_or_seal) {
    if (segments_[id]->rows == 0) {
      VIGIL_RETURN_IF_ERROR(RemoveSegment(id));
    } else {
      VIGIL_RETURN_IF_ERROR(Seal(*segments_[id]));
    }
  }
  return Status::Ok();
}

Status EventFiles::WriteIndexHeader(Segment& s) {
  IdxHeader h = HeaderOf(s);
  std::string path = Path(s.id, ".idx");
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return IoError(Errno("open " + path));
  bool ok = ::pwrite(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h);
  ::close(fd);
  return ok ? Status::Ok() : IoError(Errno("write " + path));
}

Status EventFiles::Seal(Segment& s) {
  SortKeys(s.open_entity, sort_scratch_);
  SortKeys(s.open_peer, sort_scratch_);
  IdxHeader h = HeaderOf(s);
  // Written under a temporary name and renamed: an index is whole or absent.
  std::string path = Path(s.id, ".idx"), tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(Errno("create " + tmp));
  const size_t entity_bytes = s.open_entity.size() * sizeof(Key);
  Status st = WriteAll(fd, reinterpret_cast<const char*>(&h), sizeof h, 0, tmp);
  if (st.ok()) st = WriteAll(fd, reinterpret_cast<const char*>(s.open_entity.data()), entity_bytes, sizeof h, tmp);
  if (st.ok())
    st = WriteAll(fd, reinterpret_cast<const char*>(s.open_peer.data()), s.open_peer.size() * sizeof(Key),
                  sizeof h + entity_bytes, tmp);
  ::close(fd);
  if (!st.ok()) return st;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoError(Errno("rename " + tmp));
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.sealed = false;  // Refresh maps it as newly sealed
  return Refresh();
}

Status EventFiles::RemoveSegment(int64_t id) {
  // The index goes first: a rows file without one is an unsealed segment, never an index
  // without rows.
  for (const char* ext : {".idx", ".rows"}) {
    std::string p = Path(id, ext);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return IoError(Errno("remove " + p));
  }
  segments_.erase(id);
  return Status::Ok();
}

Status EventFiles::Put(const std::vector<EventRecord>& events) {
  EventRows rows(events);
  return PutRows(rows);
}

Status EventFiles::PutRows(EventRows& rows) {
  if (rows.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  VIGIL_RETURN_IF_ERROR(BecomeWriter());
  const uint64_t per_segment = static_cast<uint64_t>(std::max<int64_t>(1, g_segment_rows.load()));
  const std::string& data = rows.data();
  size_t at = 0;  // the first byte of the next row to store
  while (at < data.size()) {
    Segment* s = segments_.empty() ? nullptr : segments_.rbegin()->second.get();
    if (!s || s->sealed) {
      int64_t id = segments_.empty() ? 1 : segments_.rbegin()->first + 1;
      std::string path = Path(id, ".rows");
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) return IoError(Errno("create " + path));
      auto seg = std::make_unique<Segment>();
      seg->id = id;
      seg->fd = fd;
      seg->open_entity.swap(spare_entity_);
      seg->open_peer.swap(spare_peer_);
      struct stat st {};
      if (fstat(fd, &st) == 0) seg->inode = st.st_ino;
      s = seg.get();
      segments_[id] = std::move(seg);
    }
    const uint64_t room = per_segment - std::min(per_segment - 1, s->rows);
    // What the segment was, to undo the notes if the write fails (a full disk): the next
    // batch then overwrites the torn bytes, and no key points at a row that is not there.
    const size_t n_entity = s->open_entity.size(), n_peer = s->open_peer.size();
    const uint64_t old_rows = s->rows;
    const Micros first = s->first, last = s->last;
    size_t end = at;
    for (uint64_t n = 0; n < room && end < data.size(); ++n) {
      const size_t size = rows.SetChecksum(end);
      s->Note(DecodeRow(data.data() + end), s->bytes + (end - at));
      end += size;
    }
    // The rows go from the batch's own buffer to the file: no copy on the way.
    Status st = WriteAll(s->fd, data.data() + at, end - at, s->bytes, Path(s->id, ".rows"));
    if (!st.ok()) {
      s->open_entity.resize(n_entity);
      s->open_peer.resize(n_peer);
      s->rows = old_rows;
      s->first = first;
      s->last = last;
      return st;
    }
    s->bytes += end - at;
    if (s->rows >= per_segment) VIGIL_RETURN_IF_ERROR(Seal(*s));
    at = end;
  }
  return Status::Ok();
}

Result<std::vector<EventRecord>> EventFiles::Query(const EventQuery& q) {
  std::lock_guard lock(mu_);
  if (!writer_) VIGIL_RETURN_IF_ERROR(Refresh());
  const uint64_t key = IdKey(q.entity);
  const Micros lo = q.since, hi = q.until == 0 ? INT64_MAX : q.until;
  const size_t want = q.limit == 0 ? SIZE_MAX : q.limit + q.offset;
  struct Hit {
    Micros time;
    int64_t seg;
    uint64_t pos;
    bool as_peer;
  };
  struct Found {
    Micros time;
    int64_t seg;
    uint64_t pos;
    EventRecord e;
  };
  std::vector<Found> found;
  std::vector<Hit> hits;
  std::string buf, summary_text;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    const Segment& s = *it->second;
    if (s.rows == 0 || s.last < lo || s.effective_first() >= hi) continue;
    hits.clear();
    for (bool as_peer : {false, true})
      s.Find(key, lo, hi, as_peer, [&](const Key& k) { hits.push_back({k.time, s.id, k.pos, as_peer}); });
    // Newest first; a row naming the entity on both sides is one row.
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
      return std::tie(a.time, a.pos, a.as_peer) > std::tie(b.time, b.pos, b.as_peer);
    });
    size_t taken = 0;
    uint64_t last_pos = UINT64_MAX;
    for (const Hit& h : hits) {
      if (taken >= want) break;
      if (h.pos == last_pos) continue;
      auto r = s.Row(h.pos, buf);
      if (!r) continue;
      if ((h.as_peer ? r->peer : r->entity) != q.entity) continue;  // a hash collision
      last_pos = h.pos;
      if (!q.kind.empty() && r->kind != q.kind) continue;
      if (!q.peer.empty() && !((r->entity == q.entity && r->peer == q.peer) ||
                               (r->peer == q.entity && r->entity == q.peer)))
        continue;
      // The summary's text, made once (a flow's is packed in the row: event_rows.h) for
      // the search and the record.
      RowView row = *r;
      row.summary = SummaryText(r->summary, summary_text);
      if (!q.text.empty() && row.summary.find(q.text) == std::string_view::npos &&
          row.uid.find(q.text) == std::string_view::npos)
        continue;
      found.push_back({h.time, s.id, h.pos, row.ToRecord()});
      ++taken;
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return std::tie(a.time, a.seg, a.pos) > std::tie(b.time, b.seg, b.pos);
  });
  std::vector<EventRecord> out;
  for (size_t i = q.offset; i < found.size() && (q.limit == 0 || out.size() < q.limit); ++i)
    out.push_back(std::move(found[i].e));
  return out;
}

Result<std::vector<std::pair<Micros, uint64_t>>> EventFiles::Counts(const std::string& entity, Micros bucket,
                                                                    Micros since, Micros until) {
  if (bucket <= 0) return InvalidArgument("event counts: bucket must be positive");
  if (until == 0) until = INT64_MAX;
  std::lock_guard lock(mu_);
  if (!writer_) VIGIL_RETURN_IF_ERROR(Refresh());
  const uint64_t key = IdKey(entity);
  std::map<Micros, uint64_t> counts;
  std::string buf;
  for (const auto& [id, seg] : segments_) {
    const Segment& s = *seg;
    if (s.rows == 0 || s.last < since || s.effective_first() >= until) continue;
    for (bool as_peer : {false, true}) {
      s.Find(key, since, until, as_peer, [&](const Key& k) {
        auto r = s.Row(k.pos, buf);
        if (r && (as_peer ? r->peer : r->entity) == entity && !(as_peer && r->entity == entity))
          ++counts[k.time - ((k.time % bucket) + bucket) % bucket];
      });
    }
  }
  return std::vector<std::pair<Micros, uint64_t>>(counts.begin(), counts.end());
}

namespace {

// Sums activity per (entity, peer) and lists it busiest first (then entity, peer).
class ActivityTable {
 public:
  void Add(std::string_view entity, std::string_view peer, uint64_t bytes, Micros t) {
    auto [it, fresh] = by_.try_emplace({std::string(entity), std::string(peer)});
    PeerActivity& a = it->second;
    if (fresh) {
      a.entity = entity;
      a.peer = peer;
      a.first_seen = t;
      a.last_seen = t;
    }
    ++a.events;
    a.bytes += bytes;
    a.first_seen = std::min(a.first_seen, t);
    a.last_seen = std::max(a.last_seen, t);
  }
  std::vector<PeerActivity> Busiest(size_t limit) {
    std::vector<PeerActivity> out;
    out.reserve(by_.size());
    for (auto& [k, a] : by_) out.push_back(std::move(a));
    std::stable_sort(out.begin(), out.end(),
                     [](const PeerActivity& a, const PeerActivity& b) { return a.events > b.events; });
    if (limit && out.size() > limit) out.resize(limit);
    return out;
  }

 private:
  std::map<std::pair<std::string, std::string>, PeerActivity> by_;
};

}  // namespace

Result<std::vector<PeerActivity>> EventFiles::Peers(const std::string& entity, Micros before, size_t limit) {
  std::lock_guard lock(mu_);
  if (!writer_) VIGIL_RETURN_IF_ERROR(Refresh());
  const uint64_t key = IdKey(entity);
  ActivityTable acc;
  std::string buf;
  for (const auto& [id, seg] : segments_) {
    const Segment& s = *seg;
    if (s.rows == 0 || s.effective_first() >= before) continue;
    for (bool as_peer : {false, true}) {
      s.Find(key, INT64_MIN, before, as_peer, [&](const Key& k) {
        auto r = s.Row(k.pos, buf);
        if (!r || (as_peer ? r->peer : r->entity) != entity) return;
        std::string_view other = as_peer ? r->entity : r->peer;
        if (!other.empty()) acc.Add(entity, other, r->bytes, r->time);
      });
    }
  }
  return acc.Busiest(limit);
}

Result<std::vector<PeerActivity>> EventFiles::BusiestPairs(Micros since, size_t limit, size_t max_rows) {
  std::lock_guard lock(mu_);
  if (!writer_) VIGIL_RETURN_IF_ERROR(Refresh());
  ActivityTable acc;
  uint64_t budget = max_rows == 0 ? UINT64_MAX : max_rows;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {  // newest first
    const Segment& s = *it->second;
    if (budget == 0 || (s.rows && s.last < since)) break;
    Micros from = std::max(since, s.cut);
    s.ForEachRow(s.rows > budget ? s.rows - budget : 0, [&](uint64_t, const RowView& r) {
      if (!r.peer.empty() && r.time >= from) acc.Add(r.entity, r.peer, r.bytes, r.time);
    });
    budget -= std::min(budget, s.rows);
  }
  return acc.Busiest(limit);
}

Result<uint64_t> EventFiles::Prune(Micros before) {
  std::lock_guard lock(mu_);
  VIGIL_RETURN_IF_ERROR(BecomeWriter());
  uint64_t removed = 0;
  std::vector<int64_t> drop;
  for (auto& [id, seg] : segments_) {
    Segment& s = *seg;
    if (s.rows == 0 || s.effective_first() >= before) continue;
    if (s.last < before) {  // wholly old
      removed += s.live();
      drop.push_back(id);
      continue;
    }
    // Straddling: rows before `before` are cut off (skipped by every query) and the files
    // go when the segment's last row is old. The cut is kept in the index, so an open
    // segment is sealed first.
    uint64_t n = 0;
    auto count = [&](const Key& k) { n += k.time >= s.cut && k.time < before; };
    if (s.sealed) {
      std::for_each(s.by_entity, s.by_entity + s.n_entity, count);
    } else {
      std::for_each(s.open_entity.begin(), s.open_entity.end(), count);
    }
    s.dead += n;
    s.cut = before;
    removed += n;
    VIGIL_RETURN_IF_ERROR(s.sealed ? WriteIndexHeader(s) : Seal(s));
  }
  for (int64_t id : drop) VIGIL_RETURN_IF_ERROR(RemoveSegment(id));
  return removed;
}

Result<uint64_t> EventFiles::Cap(uint64_t max_rows) {
  std::lock_guard lock(mu_);
  VIGIL_RETURN_IF_ERROR(BecomeWriter());
  uint64_t total = 0, removed = 0;
  for (const auto& [id, seg] : segments_) total += seg->live();
  // Oldest first, never the newest segment, and only while what stays is still at least
  // max_rows: the log keeps between max_rows and max_rows + one segment.
  std::vector<int64_t> drop;
  for (const auto& [id, seg] : segments_) {
    if (id == segments_.rbegin()->first || total - seg->live() < max_rows) break;
    total -= seg->live();
    removed += seg->live();
    drop.push_back(id);
  }
  for (int64_t id : drop) VIGIL_RETURN_IF_ERROR(RemoveSegment(id));
  return removed;
}

void SetEventSegmentRowsForTest(int64_t rows) { g_segment_rows = rows > 0 ? rows : kDefaultEventSegmentRows; }

}  // namespace vigil::store

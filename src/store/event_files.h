// EventFiles: the SQLite backend's event log (Store::PutEvents and the queries on it), kept
// in append-only segment files beside vigil.db, in dir/events/:
//
//   <id>.rows   every row, in arrival order: [u32 payload size][u32 crc32 of payload]
//               [payload: time, line, offset, bytes, six u16 lengths, then entity, peer,
//               kind, summary, uid, input]
//   <id>.idx    written when the segment is sealed: a header (rows, time span, the prune
//               cut) and two sorted arrays of (64-bit id hash, time, row position), one by
//               entity and one by peer. Queries binary-search them.
//
// Why not SQLite tables: every event of the network is a row, a million a second on a busy
// sensor. Inserting them into SQLite and building two B-tree indexes cost about 4 us a row,
// more than detection itself; appending to a file and sorting 24-byte keys once a segment
// is full costs about a tenth of that. Nothing else of the store needs this: breaches,
// entities and checkpoints stay in SQLite.
//
// One process writes (the first to call a writing method takes dir/events/LOCK with flock);
// any number read, and see new rows as they are appended: readers look at the folder again
// at each query, and catch up on the open segment's rows from where they stopped. A crash
// leaves at most a torn last row, which the next writer truncates (each row carries a CRC).
// Thread-safe: one mutex serialises the calls of one instance.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/event_rows.h"
#include "store/store.h"

namespace vigil::store {

class EventFiles {
 public:
  // Opens (creating) dir/events. Does not lock or repair anything until the first write.
  static Result<std::unique_ptr<EventFiles>> Open(const std::string& dir);
  ~EventFiles();
  EventFiles(const EventFiles&) = delete;
  EventFiles& operator=(const EventFiles&) = delete;

  // The Store contract (store.h, "The event log"). Writes fail with kUnavailable when
  // another process holds the writer lock.
  Status Put(const std::vector<EventRecord>& events);
  // The same for rows packed already (the engine's event log): their checksums are filled
  // in, and the batch's buffer is written to the segment file as it is.
  Status PutRows(EventRows& rows);
  Result<std::vector<EventRecord>> Query(const EventQuery& q);
  Result<std::vector<std::pair<Micros, uint64_t>>> Counts(const std::string& entity, Micros bucket,
                                                          Micros since, Micros until);
  Result<std::vector<PeerActivity>> Peers(const std::string& entity, Micros before, size_t limit);
  Result<std::vector<PeerActivity>> BusiestPairs(Micros since, size_t limit, size_t max_rows);
  Result<uint64_t> Prune(Micros before);
  Result<uint64_t> Cap(uint64_t max_rows);

  // One index entry: an id's hash, the row's time and where the row starts in <id>.rows.
  struct Key {
    uint64_t key;
    int64_t time;
    uint64_t pos;
  };
  struct Segment;

 private:
  explicit EventFiles(std::string dir);
  Status Refresh();          // looks at the folder again; catches up on unsealed segments
  bool MapSealed(Segment& s);  // false when <id>.idx does not fit its rows
  Status BecomeWriter();     // takes the lock, repairs torn tails, seals all but the newest
  Status Seal(Segment& s);   // sorts the keys and writes <id>.idx
  Status RemoveSegment(int64_t id);
  Status WriteIndexHeader(Segment& s);
  std::string Path(int64_t id, const char* ext) const;

  std::string dir_;
  std::mutex mu_;
  int lock_fd_ = -1;
  bool writer_ = false;
  // The writer's key buffers, kept from one segment to the next: a segment's keys fill
  // them to its row count, and a buffer grown and dropped per segment would be fresh
  // memory (page faults, copies as it doubles) every quarter million rows.
  std::vector<Key> spare_entity_, spare_peer_, sort_scratch_;
  std::map<int64_t, std::unique_ptr<Segment>> segments_;  // by id, oldest first
};

}  // namespace vigil::store

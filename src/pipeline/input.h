// Inputs: turning the paths given on the command line or in config into streams of events
// in event-time order.
//
// A path is a file (plain or gzip), a folder, or FORMAT:PATH to force the format. A folder
// is walked recursively and its files are grouped into streams by log name with the
// rotation stamp removed ("conn.log", "2024-01-01/conn.00:00:00-01:00:00.log.gz" → "conn"),
// each stream read file by file in name order (Zeek's dated folders sort in time order).
// The engine merges all streams by event time.
//
// Within a stream, records up to `reorder_window` of event time out of order are put back
// in order: events are held until the stream has read past their time plus the window.
// Events keep string views into the chunk they were decoded from; a chunk is freed once
// every event decoded from it (and every chunk before it) has been popped.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "core/thread_cpu.h"
#include "ingest/decoder.h"
#include "ingest/registry.h"
#include "pipeline/byte_source.h"

namespace vigil::pipeline {

// Bytes read per chunk, at most. A chunk's events (680 bytes each, several per 100-200 byte
// record) are held until the model threads are done with them: 1 MiB keeps a replay's
// chunks to tens of MB where 4 MiB held about 80 MB, at no cost in speed.
inline constexpr size_t kChunkBytes = 1u << 20;
// A chunk is sized to hold about this many records (from the input bytes a record took in
// the last chunk), between kMinChunkBytes and kChunkBytes. The engine thread decodes a
// chunk and then processes its events: 1,024 events are about 700 KB, which the core's
// 1 MiB L2 cache still holds when the engine comes back to them; a megabyte of 137-byte
// Zeek lines decoded into 5 MB of events that came back from L3. Kilobyte records
// (CloudTrail) still read a megabyte at a time, so a decode-ahead thread's hand-off per
// chunk stays rare.
inline constexpr size_t kChunkRecords = 1024;
inline constexpr size_t kMinChunkBytes = 64u << 10;
// Room a read buffer keeps for the unconsumed start of a record left from the last chunk
// (records are usually far shorter; a longer one grows its buffer).
inline constexpr size_t kChunkTailRoom = 64u << 10;

// One concrete file Vigil reads; its index is SourcePos::input.
struct InputFile {
  std::string path;
  std::string forced_format;  // empty: sniff
  std::string format;         // what was used
  std::string stream;         // stream key ("conn", "eve", or the file name)
  uint64_t fingerprint = 0;   // hash of the first kFingerprintBytes (decompressed), 0 = unknown
  bool rotated_copy = false;  // a compressed copy of a file already read (skipped)
};

// Bytes hashed to recognise a file after rotation renamed or compressed it.
inline constexpr size_t kFingerprintBytes = 1024;
// Fingerprint of a file's first kFingerprintBytes (decompressed); 0 if it has fewer.
uint64_t FileFingerprint(const std::string& path);

// Where bad records go: counted, reported, kept in the dead-letter file.
class RejectSink {
 public:
  virtual ~RejectSink() = default;
  virtual void OnReject(const InputFile& file, const ingest::Reject& r) = 0;
};

// Expands a command-line INPUT into files. FORMAT:PATH forces a registered format.
// Missing paths and unknown forced formats are errors (the command cannot run).
Result<std::vector<InputFile>> ExpandInput(const std::string& spec);

// The stream key of a file path: the log name with rotation stamps and extensions removed.
std::string StreamKey(const std::string& path);

struct StreamStats {
  uint64_t events = 0;
  uint64_t rejects = 0;
  uint64_t bytes = 0;
};

// One ordered stream of events from a sequence of files.
class Stream {
 public:
  // `files` index into the shared file table (which must outlive the stream).
  Stream(std::vector<InputFile>* table, std::vector<uint32_t> files, Micros reorder_window,
         RejectSink* rejects);
  // Stops and joins the decode-ahead thread, if one runs.
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // The next event in this stream's event-time order, or nullptr if none is ready. In
  // replay (follow == false) nullptr means the stream is finished; in follow mode it means
  // "nothing more yet".
  Event* Peek();
  void Pop();
  // The event `k` after the one Peek returns, if the stream already holds it in order
  // (for prefetching; it may be null though more events follow).
  const Event* Upcoming(size_t k) const {
    return ready_pos_ + k < ready_.size() ? ready_[ready_pos_ + k].event : nullptr;
  }
  bool finished() const { return finished_; }
  // Releases every held event (ends the reorder wait): at end of input, before a checkpoint.
  void FlushHeld();

  // While another thread still reads popped events (the engine's model thread), a chunk
  // whose events are all popped is kept, tagged with the value of `*tag` at that moment
  // (the engine's count of events handed over), until Reclaim says that many are done.
  // Null (the default): chunks are reused as soon as their last event is popped.
  void set_retire_tag(const uint64_t* tag) { retire_tag_ = tag; }
  // Reuses or frees the kept chunks whose tag is at most `done`.
  void Reclaim(uint64_t done);

  // Follow mode: keep polling the current file for growth and the path for rotation.
  // Set before the first Peek.
  void set_follow(bool follow) { follow_ = follow; }
  // Replay (not follow mode): once the first chunk shows a format whose decoding pays for
  // it (Decoder::decode_ahead_pays), read and decode the next chunks on a thread of the
  // stream's own while the engine works through this one (engine.decode_ahead). What
  // comes out is the same, in the same order: only where the decoding runs changes. Set
  // before the first Peek.
  void set_decode_ahead(bool on) { decode_ahead_ = on; }
  // The decode-ahead thread's CPU time goes to `cpu` (may be null), current after each
  // chunk it hands over.
  void set_decode_cpu(CpuTally* cpu) { decode_cpu_ = cpu; }
  bool decoding_ahead() const { return ahead_ != nullptr; }
  // Follow mode: a file found by a rescan joins the end of the stream.
  void AddFile(uint32_t file_index) { files_.push_back(file_index); }
  // Resume: skip `offset` decompressed bytes (`line` lines) of file `file_index` and every
  // file before it in the stream.
  void ResumeAt(uint32_t file_index, uint64_t offset, uint64_t line);

  // The position of the first byte not yet decoded into a chunk this stream has taken in
  // (chunks decoded ahead and not yet taken do not count), valid when no events are held.
  uint32_t current_file() const;
  uint64_t consumed_offset() const { return seen_.offset; }
  uint64_t consumed_line() const { return seen_.line; }
  uint64_t current_inode() const { return seen_.inode; }
  const StreamStats& stats() const { return stats_; }

 private:
  struct Chunk {
    std::string bytes;  // data followed by ingest::kReadPadding bytes
    std::vector<Event> events;
    size_t remaining = 0;  // events not yet popped
    // Shared ownership, for a stated reason: some decoders keep unescaped strings in
    // storage of their own, which must outlive every event decoded from this chunk even
    // after the stream has moved on to the next file and a new decoder.
    std::shared_ptr<ingest::Decoder> decoder;
  };
  struct Held {
    Event* event;
    Chunk* chunk;
  };
  // Where reading stands after a chunk: the read side's position, as the stream's
  // accessors report it once the chunk is taken in.
  struct Position {
    int current = -1;  // index into files_, -1 before the first file and after the last
    uint64_t offset = 0;
    uint64_t line = 1;
    uint64_t inode = 0;
  };
  // What one round of reading and decoding produced: a chunk with events (null at the end
  // of input, or in follow mode when nothing new was there), the rejects met on the way
  // with the file they belong to, and what was learned of files opened. Made by the read
  // side (Produce), applied by the engine's thread (Apply): the file table, the reject
  // sink and the stats are only ever touched there.
  struct Produced {
    struct Opened {
      uint32_t file = 0;
      std::string format;
      uint64_t fingerprint = 0;  // 0: the file is too short to have one
    };
    std::unique_ptr<Chunk> chunk;
    std::vector<std::pair<uint32_t, ingest::Reject>> rejects;
    std::vector<Opened> opened;
    uint64_t bytes = 0;
    Position position;
    void AddReject(uint32_t file, ingest::Reject r) { rejects.emplace_back(file, std::move(r)); }
  };
  // The decode-ahead thread and the chunks it has ready.
  struct Ahead {
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;  // a result is ready, a slot is free, or stop
    std::deque<Produced> ready;
    bool done = false;  // the last result (the end of input) is in `ready` or taken
    bool stop = false;  // the stream is going away
  };
  // Chunks decoded ahead at most: enough that the engine never waits for the decoder while
  // the decoder keeps up, few enough to add only a few MB (a 1 MiB chunk of Zeek TSV
  // decodes into about 5 MB of events).
  static constexpr size_t kChunksAhead = 2;

  // The read side. Reads and decodes until it has a chunk with events (true), or the input
  // ends or has nothing new (false). Runs on the decode-ahead thread when there is one;
  // everything it touches is the read side's alone.
  bool Produce(Produced& out);
  void DecodeAhead();                            // the decode-ahead thread's loop
  // The next result: produced here, or taken from the decode-ahead thread (started on
  // first use in replay mode).
  void Next(Produced& out);
  void Apply(Produced& p);  // the engine's side of a result
  std::unique_ptr<Chunk> TakeFreeChunk();
  bool OpenNext(Produced& out);  // the read side's next file; its rejects go into `out`
  // Follow mode, at the end of the current file: true when reading should move on (a newer
  // file is queued, or the path now names a new file after rotation).
  bool CurrentFileRotated();
  bool Fill();  // takes in one decoded chunk; false when there was none
  void Release(Micros upto, bool all);
  void Recycle(std::unique_ptr<Chunk> c);

  std::vector<InputFile>* table_;  // the engine's; written only by Apply
  std::vector<uint32_t> files_;
  // The read side (Produce, OpenNext): with decode-ahead, only its thread touches these.
  size_t next_file_ = 0;
  int current_ = -1;
  std::unique_ptr<ByteSource> source_;
  std::shared_ptr<ingest::Decoder> decoder_;
  std::string pending_;  // bytes read but not yet consumed by the decoder
  uint64_t consumed_offset_ = 0;  // decompressed offset of pending_[0]
  uint64_t consumed_line_ = 1;    // line number of pending_[0]
  bool skipping_long_line_ = false;
  // The decoder used none of the pending bytes (a record longer than what was read): the
  // next Fill reads more even though a chunk's worth is pending, up to the record cap.
  bool stalled_ = false;
  uint64_t resume_skip_ = 0;
  uint64_t resume_line_ = 0;
  uint32_t resume_file_ = UINT32_MAX;
  std::string resume_header_;  // the header lines shown to a decoder on resume
  size_t bytes_per_event_ = 128;  // input bytes per event in the last chunk decoded
  // Bytes the next read asks for: kChunkRecords records' worth (see kChunkRecords).
  size_t chunk_bytes() const {
    return std::clamp(bytes_per_event_ * kChunkRecords, kMinChunkBytes, kChunkBytes);
  }
  // (The read side ends here; what follows is the engine's side.)

  // Held events (sorted by time) with the chunks they point into.
  std::deque<std::unique_ptr<Chunk>> live_chunks_;
  // Recycled chunks kept for reuse. The list never holds more chunks than were alive at
  // once (it only takes back chunks the model threads are done with), so its bound does
  // not raise the peak; it must cover the chunks in flight, or a stream of large records
  // (a CloudTrail chunk holds under a thousand of them, the model threads lag by up to
  // 4,096 events) frees chunks only to allocate, and fault in, new ones.
  static constexpr size_t kMaxFreeChunks = 8;
  std::mutex free_mu_;  // free_chunks_ is shared by the read side and the engine's side
  std::vector<std::unique_ptr<Chunk>> free_chunks_;  // recycled, capacity kept
  const uint64_t* retire_tag_ = nullptr;
  std::deque<std::pair<uint64_t, std::unique_ptr<Chunk>>> retired_;  // (tag, chunk)
  std::vector<Held> held_;    // sorted by time, not yet released
  std::vector<Held> ready_;   // released, in order
  size_t ready_pos_ = 0;
  std::vector<Held> merge_tmp_;
  Micros max_time_ = INT64_MIN;
  Micros window_;
  bool finished_ = false;
  bool follow_ = false;
  RejectSink* rejects_;
  std::vector<ingest::Reject> reject_buf_;  // the read side's
  StreamStats stats_;
  Position seen_;  // the position after the last chunk taken in
  bool decode_ahead_ = false;
  CpuTally* decode_cpu_ = nullptr;
  std::unique_ptr<Ahead> ahead_;  // last: stopped (by ~Stream) before the rest goes
};

}  // namespace vigil::pipeline

#include "pipeline/input.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

#include <sys/stat.h>

namespace vigil::pipeline {

namespace fs = std::filesystem;

namespace {

// Newlines in [p, p + n): memchr jumps line to line (vectorised in libc), where a byte loop
// was a tenth of a CloudTrail replay.
uint64_t CountNewlines(const char* p, size_t n) {
  uint64_t count = 0;
  const char* end = p + n;
  while (p < end && (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p))))) {
    ++count;
    ++p;
  }
  return count;
}

}  // namespace

std::string StreamKey(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  // Drop compression and log extensions, then Zeek's rotation stamp
  // ("conn.00:00:00-01:00:00", "conn.2024-01-01-00-00-00").
  for (const char* ext : {".gz", ".log", ".json", ".jsonl", ".ndjson"}) {
    size_t n = std::strlen(ext);
    if (name.size() > n && name.compare(name.size() - n, n, ext) == 0) name.resize(name.size() - n);
  }
  size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) {
    std::string rest = name.substr(dot + 1);
    if (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) name.resize(dot);
  }
  return name;
}

uint64_t FileFingerprint(const std::string& path) {
  auto src = ByteSource::Open(path);
  if (!src.ok()) return 0;
  std::string head;
  while (head.size() < kFingerprintBytes && src.value()->Read(head, kFingerprintBytes - head.size()) > 0) {
  }
  if (head.size() < kFingerprintBytes) return 0;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : head) h = (h ^ c) * 0x100000001b3ULL;
  return h | 1;
}

Result<std::vector<InputFile>> ExpandInput(const std::string& spec) {
  std::string forced;
  std::string path = spec;
  size_t colon = spec.find(':');
  if (colon != std::string::npos && colon > 0 && !fs::exists(spec)) {
    std::string fmt = spec.substr(0, colon);
    if (ingest::FormatRegistry::Global().Find(fmt)) {
      forced = fmt;
      path = spec.substr(colon + 1);
    } else if (fmt.find('/') == std::string::npos) {
      std::string known;
      for (const auto& f : ingest::FormatRegistry::Global().formats())
        known += (known.empty() ? "" : ", ") + f.name;
      return InvalidArgument("unknown format '" + fmt + "' in '" + spec + "' (known: " + known + ")");
    }
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("input '" + path + "' does not exist");
  std::vector<InputFile> out;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec)) continue;
      std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) out.push_back({f, forced, "", StreamKey(f)});
  } else {
    out.push_back({path, forced, "", StreamKey(path)});
  }
  return out;
}

Stream::Stream(std::vector<InputFile>* table, std::vector<uint32_t> files, Micros reorder_window,
               RejectSink* rejects)
    : table_(table), files_(std::move(files)), window_(reorder_window), rejects_(rejects) {}

Stream::~Stream() {
  if (ahead_) {
    {
      std::lock_guard<std::mutex> lock(ahead_->mu);
      ahead_->stop = true;
    }
    ahead_->cv.notify_all();
    ahead_->thread.join();  // it finishes the chunk in hand, then sees stop
  }
}

uint32_t Stream::current_file() const {
  return seen_.current >= 0 ? files_[static_cast<size_t>(seen_.current)]
                            : (files_.empty() ? 0 : files_[0]);
}


void Stream::ResumeAt(uint32_t file_index, uint64_t offset, uint64_t line) {
  auto it = std::find(files_.begin(), files_.end(), file_index);
  if (it == files_.end()) return;
  next_file_ = static_cast<size_t>(it - files_.begin());
  resume_file_ = file_index;
  resume_skip_ = offset;
  resume_line_ = line;
}

bool Stream::OpenNext(Produced& out) {
  source_.reset();
  decoder_.reset();
  pending_.clear();
  consumed_offset_ = 0;
  consumed_line_ = 1;
  skipping_long_line_ = false;
  stalled_ = false;
  while (next_file_ < files_.size()) {
    current_ = static_cast<int>(next_file_);
    const InputFile& f = (*table_)[files_[next_file_++]];
    auto src = ByteSource::Open(f.path);
    if (!src.ok()) {
      out.AddReject(files_[static_cast<size_t>(current_)],
             ingest::MakeReject({files_[static_cast<size_t>(current_)], 0, 0}, "unreadable",
                                src.status().message(), ""));
      continue;
    }
    source_ = std::move(src.value());
    // Sniff from the first 64 KiB unless forced.
    std::string head;
    while (head.size() < 65536 && source_->Read(head, 65536 - head.size()) > 0) {
    }
    const ingest::FormatInfo* fmt = nullptr;
    if (!f.forced_format.empty()) {
      fmt = ingest::FormatRegistry::Global().Find(f.forced_format);
    } else {
      fmt = ingest::FormatRegistry::Global().Sniff(head, f.path);
    }
    if (!fmt) {
      std::string reason = head.empty() ? "empty file" : "format not recognised from the content";
      if (!head.empty() || source_->error().ok()) {
        ingest::Reject r = ingest::MakeReject({files_[static_cast<size_t>(current_)], 1, 0},
                                              head.empty() ? "empty" : "unknown-format", reason, head);
        if (!head.empty()) out.AddReject(files_[static_cast<size_t>(current_)], std::move(r));
      }
      source_.reset();
      continue;
    }
    // The file table is the engine's: what was learned of the file is written there by
    // Apply, on the engine's thread.
    Produced::Opened opened{files_[static_cast<size_t>(current_)], fmt->name, 0};
    if (head.size() >= kFingerprintBytes) {
      uint64_t h = 0xcbf29ce484222325ULL;
      for (size_t i = 0; i < kFingerprintBytes; ++i) h = (h ^ static_cast<unsigned char>(head[i])) * 0x100000001b3ULL;
      opened.fingerprint = h | 1;
    }
    out.opened.push_back(std::move(opened));
    decoder_ = fmt->make();
    pending_ = std::move(head);
    if (resume_file_ == files_[static_cast<size_t>(current_)]) {
      // Skip what the checkpoint says was already consumed. A fresh decoder has not seen the
      // file's header (Zeek's #separator/#fields lines), so it is shown the leading '#'
      // lines first; their output is discarded.
      uint64_t skip = resume_skip_;
      size_t header_end = 0;
      while (header_end < pending_.size() && header_end < skip && pending_[header_end] == '#') {
        size_t nl = pending_.find('\n', header_end);
        if (nl == std::string::npos) break;
        header_end = nl + 1;
      }
      if (header_end > 0) {
        std::string header = pending_.substr(0, header_end);
        header.resize(header_end + ingest::kReadPadding, '\0');
        std::vector<Event> ignored;
        std::vector<ingest::Reject> ignored_rejects;
        decoder_->Decode(std::string_view(header.data(), header_end), {files_[static_cast<size_t>(current_)], 1, 0},
                         false, ignored, ignored_rejects);
        // Views into `header` may have been kept by a decoder for its column names; keep
        // the bytes alive with the decoder's first chunk.
        resume_header_ = std::move(header);
      }
      if (skip <= pending_.size()) {
        pending_.erase(0, skip);
      } else {
        uint64_t rest = skip - pending_.size();
        pending_.clear();
        source_->Skip(rest);
      }
      consumed_offset_ = skip;
      consumed_line_ = resume_line_ ? resume_line_ : 1;
      resume_file_ = UINT32_MAX;
    }
    return true;
  }
  current_ = -1;
  return false;
}

bool Stream::Produce(Produced& out) {
  for (;;) {
    if (!source_ && !OpenNext(out)) break;
    const uint32_t file = files_[static_cast<size_t>(current_)];
    const bool whole = decoder_->needs_whole_document();
    const size_t read_size = chunk_bytes();
    size_t want = whole ? ingest::kMaxDocumentBytes : read_size;
    size_t got = 0;
    bool read = false;  // whether this round asked the source for bytes
    if (pending_.size() < want || stalled_) {
      read = true;
      // Room for a chunk, the decoder's padding and the start of a record the last chunk
      // cut, reserved at once. Grown by std::string's doubling instead (the padding alone
      // tipped a full read over), each buffer had twice the capacity it used, and with huge
      // pages a buffer's whole capacity is resident: CloudTrail keeps about a dozen chunks
      // in flight.
      if (!whole && pending_.capacity() < pending_.size() + read_size + ingest::kReadPadding)
        pending_.reserve(std::max(pending_.size(), kChunkTailRoom) + read_size +
                         ingest::kReadPadding);
      got = source_->Read(pending_, whole ? want - pending_.size() : read_size);
      if (whole) {
        while (got > 0 && pending_.size() < want) got = source_->Read(pending_, want - pending_.size());
      }
    }
    out.bytes += got;
    if (!source_->error().ok()) {
      out.AddReject(file, ingest::MakeReject({file, consumed_line_, consumed_offset_ + pending_.size()},
                                      "truncated-gzip", source_->error().message(), ""));
    }
    // Nothing read is the end only when something was asked for: a round that decodes what
    // is already pending (more than a chunk of it, after a record that started near the
    // end of the last one) must not end the file there.
    bool at_end = (read && got == 0 && !follow_) || source_->finished() || whole;
    if (at_end && source_->TruncatedAtEnd() && source_->error().ok() && !follow_) {
      out.AddReject(file, ingest::MakeReject(
                       {file, consumed_line_, consumed_offset_ + pending_.size()}, "truncated-gzip",
                       "gzip stream ends before its end marker (cut off); records before the cut are kept",
                       ""));
    }
    if (pending_.empty()) {
      if (at_end) {
        source_.reset();
        continue;  // next file
      }
      if (follow_ && got == 0 && CurrentFileRotated()) {
        // The rest of a rotated file was read through its open descriptor; move on.
        if (!pending_.empty()) continue;
        source_.reset();
        continue;
      }
      break;  // follow mode: nothing new yet
    }
    if (skipping_long_line_) {
      const char* nl = static_cast<const char*>(std::memchr(pending_.data(), '\n', pending_.size()));
      if (!nl) {
        consumed_offset_ += pending_.size();
        pending_.clear();
        if (at_end) source_.reset();
        continue;
      }
      size_t n = static_cast<size_t>(nl - pending_.data()) + 1;
      consumed_offset_ += n;
      ++consumed_line_;
      pending_.erase(0, n);
      skipping_long_line_ = false;
    }
    // Chunks are recycled: their byte buffers and event vectors keep their capacity, so the
    // steady state allocates nothing per chunk (and touches no fresh pages).
    std::unique_ptr<Chunk> chunk = TakeFreeChunk();
    chunk->decoder = decoder_;
    chunk->bytes.swap(pending_);  // pending_ inherits the recycled buffer's capacity
    pending_.clear();
    // A fresh chunk's event vector is sized for the records seen so far: reserved for
    // 128-byte records, a chunk of kilobyte CloudTrail records held 8 times the events it
    // needed, and the memory of a vector that is touched at all is resident (huge pages).
    if (chunk->events.capacity() == 0) chunk->events.reserve(chunk->bytes.size() / bytes_per_event_ + 16);
    size_t data_len = chunk->bytes.size();
    chunk->bytes.resize(data_len + ingest::kReadPadding, '\0');
    std::string_view data(chunk->bytes.data(), data_len);
    ingest::ChunkStart start{file, consumed_line_, consumed_offset_};
    reject_buf_.clear();
    size_t used = decoder_->Decode(data, start, at_end, chunk->events, reject_buf_);
    if (used > data_len) used = data_len;
    stalled_ = used == 0 && !at_end;
    for (auto& r : reject_buf_) out.AddReject(file, std::move(r));
    // Keep the unconsumed tail for the next read.
    if (used < data_len) {
      pending_.assign(chunk->bytes.data() + used, data_len - used);
      if (used == 0 && !at_end && pending_.size() > ingest::kMaxRecordBytes) {
        out.AddReject(file, ingest::MakeReject({start.input, consumed_line_, consumed_offset_}, "too-long",
                                        "record longer than the 1 MiB cap", pending_));
        consumed_offset_ += pending_.size();
        pending_.clear();
        skipping_long_line_ = true;
      }
    }
    if (!chunk->events.empty()) bytes_per_event_ = std::max<size_t>(32, used / chunk->events.size());
    consumed_line_ += CountNewlines(data.data(), used);
    consumed_offset_ += used;
    if (at_end && !pending_.empty() && !follow_) {
      // The decoder had to consume everything at the end; guard against a decoder that
      // did not: the rest is reported rather than looping.
      out.AddReject(file, ingest::MakeReject({start.input, consumed_line_, consumed_offset_}, "incomplete",
                                      "input ends inside a record", pending_));
      pending_.clear();
    }
    if (at_end && pending_.empty()) source_.reset();
    if (chunk->events.empty()) {
      Recycle(std::move(chunk));
      continue;
    }
    out.chunk = std::move(chunk);
    break;
  }
  out.position = {current_, consumed_offset_, consumed_line_, source_ ? source_->inode() : 0};
  return out.chunk != nullptr;
}

void Stream::Apply(Produced& p) {
  for (auto& o : p.opened) {
    InputFile& f = (*table_)[o.file];
    f.format = std::move(o.format);
    if (o.fingerprint) f.fingerprint = o.fingerprint;
  }
  for (const auto& [file, r] : p.rejects) rejects_->OnReject((*table_)[file], r);
  stats_.rejects += p.rejects.size();
  stats_.bytes += p.bytes;
  stats_.events += p.chunk ? p.chunk->events.size() : 0;
  seen_ = p.position;
}

void Stream::DecodeAhead() {
  ThreadCpuMeter cpu(decode_cpu_);
  for (;;) {
    Produced p;
    const bool more = Produce(p);
    cpu.Tick();
    {
      std::unique_lock<std::mutex> lock(ahead_->mu);
      ahead_->cv.wait(lock, [&] { return ahead_->stop || ahead_->ready.size() < kChunksAhead; });
      if (ahead_->stop) return;
      ahead_->ready.push_back(std::move(p));
      if (!more) ahead_->done = true;
    }
    ahead_->cv.notify_all();
    if (!more) return;
  }
}

void Stream::Next(Produced& out) {
  if (!ahead_) {
    Produce(out);
    // The first chunk says what the stream is: a format whose decoding pays for a thread
    // (Decoder::decode_ahead_pays) has the rest decoded ahead, from here on.
    if (decode_ahead_ && !follow_ && out.chunk && out.chunk->decoder &&
        out.chunk->decoder->decode_ahead_pays()) {
      ahead_ = std::make_unique<Ahead>();
      ahead_->thread = std::thread([this] { DecodeAhead(); });
    }
    return;
  }
  std::unique_lock<std::mutex> lock(ahead_->mu);
  ahead_->cv.wait(lock, [&] { return !ahead_->ready.empty() || ahead_->done; });
  if (ahead_->ready.empty()) {
    out.position = seen_;  // finished: nothing more will come
    return;
  }
  out = std::move(ahead_->ready.front());
  ahead_->ready.pop_front();
  lock.unlock();
  ahead_->cv.notify_all();
}

bool Stream::Fill() {
  Produced p;
  Next(p);
  Apply(p);
  if (!p.chunk) return false;  // the end (replay), or nothing new yet (follow)

  // Sort the chunk's events (stable: equal times keep file order) and merge with held.
  std::unique_ptr<Chunk> chunk = std::move(p.chunk);
  Chunk* c = chunk.get();
  c->remaining = c->events.size();
  std::vector<Held> fresh;
  fresh.reserve(c->events.size());
  bool sorted = true;
  for (size_t i = 0; i < c->events.size(); ++i) {
    if (i && c->events[i].time < c->events[i - 1].time) sorted = false;
    fresh.push_back({&c->events[i], c});
  }
  if (!sorted) {
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const Held& a, const Held& b) { return a.event->time < b.event->time; });
  }
  max_time_ = std::max(max_time_, fresh.back().event->time);
  live_chunks_.push_back(std::move(chunk));
  if (held_.empty()) {
    held_.swap(fresh);
  } else {
    merge_tmp_.clear();
    merge_tmp_.reserve(held_.size() + fresh.size());
    std::merge(held_.begin(), held_.end(), fresh.begin(), fresh.end(), std::back_inserter(merge_tmp_),
               [](const Held& a, const Held& b) { return a.event->time < b.event->time; });
    held_.swap(merge_tmp_);
  }
  return true;
}

bool Stream::CurrentFileRotated() {
  if (current_ < 0 || !source_) return false;
  if (next_file_ < files_.size()) return true;  // a newer file is queued behind this one
  const InputFile& f = (*table_)[files_[static_cast<size_t>(current_)]];
  struct stat st;
  if (::stat(f.path.c_str(), &st) != 0) return false;  // renamed away; its successor comes by rescan
  if (static_cast<uint64_t>(st.st_ino) == source_->inode() &&
      static_cast<uint64_t>(st.st_size) >= source_->disk_offset())
    return false;
  // The path names a new file (or the old one was truncated): read it from the start.
  InputFile next = f;
  next.format.clear();
  next.fingerprint = 0;
  table_->push_back(next);
  files_.push_back(static_cast<uint32_t>(table_->size() - 1));
  return true;
}

void Stream::Release(Micros upto, bool all) {
  // Move events with time <= upto (or all) from held_ to ready_.
  if (ready_pos_ == ready_.size()) {
    ready_.clear();
    ready_pos_ = 0;
  }
  size_t n = 0;
  if (all) {
    n = held_.size();
  } else {
    while (n < held_.size() && held_[n].event->time <= upto) ++n;
  }
  if (n == 0) return;
  ready_.insert(ready_.end(), held_.begin(), held_.begin() + static_cast<long>(n));
  held_.erase(held_.begin(), held_.begin() + static_cast<long>(n));
}

void Stream::FlushHeld() { Release(0, true); }

Event* Stream::Peek() {
  while (ready_pos_ == ready_.size()) {
    if (!held_.empty()) {
      Micros horizon = max_time_ - window_;
      if (held_.front().event->time <= horizon) {
        Release(horizon, false);
        continue;
      }
    }
    if (!Fill()) {
      if (!follow_ || (current_ < 0 && next_file_ >= files_.size() && !source_)) {
        if (!follow_) {
          Release(0, true);
          if (ready_pos_ == ready_.size()) {
            finished_ = true;
            return nullptr;
          }
          continue;
        }
      }
      return nullptr;
    }
  }
  return ready_[ready_pos_].event;
}

void Stream::Pop() {
  Held& h = ready_[ready_pos_++];
  --h.chunk->remaining;
  while (!live_chunks_.empty() && live_chunks_.front()->remaining == 0) {
    std::unique_ptr<Chunk> c = std::move(live_chunks_.front());
    live_chunks_.pop_front();
    if (retire_tag_) {
      retired_.emplace_back(*retire_tag_, std::move(c));
    } else {
      Recycle(std::move(c));
    }
  }
}

void Stream::Reclaim(uint64_t done) {
  while (!retired_.empty() && retired_.front().first <= done) {
    Recycle(std::move(retired_.front().second));
    retired_.pop_front();
  }
}

void Stream::Recycle(std::unique_ptr<Chunk> c) {
  c->events.clear();
  c->decoder.reset();
  c->remaining = 0;
  std::lock_guard<std::mutex> lock(free_mu_);
  if (free_chunks_.size() >= kMaxFreeChunks) return;  // freed (after the lock: c outlives it)
  free_chunks_.push_back(std::move(c));
}

std::unique_ptr<Stream::Chunk> Stream::TakeFreeChunk() {
  {
    std::lock_guard<std::mutex> lock(free_mu_);
    if (!free_chunks_.empty()) {
      std::unique_ptr<Chunk> c = std::move(free_chunks_.back());
      free_chunks_.pop_back();
      return c;
    }
  }
  return std::make_unique<Chunk>();
}

}  // namespace vigil::pipeline

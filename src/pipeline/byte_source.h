// ByteSource: the bytes of one file, plain or gzip-compressed, read in chunks.
//
// Gzip is recognised from the magic bytes, not the name; concatenated gzip members are
// read through. A gzip stream that ends early (a file still being compressed, or cut off)
// is reported as truncated with the compressed byte offset, and what was decompressed
// before that point is kept. Offsets everywhere are of the decompressed bytes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <zlib.h>

#include "core/status.h"

namespace vigil::pipeline {

class ByteSource {
 public:
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  static Result<std::unique_ptr<ByteSource>> Open(const std::string& path);

  // Reads up to `max` bytes into out (appending). Returns bytes read; 0 means no more bytes
  // for now (end of file, or of what has been written so far for a growing plain file).
  // A corrupt or truncated gzip stream sets error() and stops the source.
  size_t Read(std::string& out, size_t max);
  // Skips `n` decompressed bytes (to resume from a checkpoint). Returns bytes skipped.
  uint64_t Skip(uint64_t n);

  bool gzip() const { return gzip_; }
  bool finished() const { return finished_; }
  const Status& error() const { return error_; }
  uint64_t inode() const { return inode_; }
  // Size of the file on disk now (for growth detection in follow mode).
  uint64_t DiskSize() const;
  uint64_t disk_offset() const;
  // True when the file ended in the middle of a gzip member (cut off or still being
  // written): what was read is kept, and the caller reports the truncation.
  bool TruncatedAtEnd() const;

 private:
  ByteSource() = default;

  std::FILE* file_ = nullptr;
  bool gzip_ = false;
  bool finished_ = false;
  z_stream zs_{};
  bool zs_init_ = false;
  bool member_done_ = false;
  std::string in_buf_;
  uint64_t compressed_read_ = 0;
  uint64_t inode_ = 0;
  Status error_;
  std::string path_;
};

}  // namespace vigil::pipeline

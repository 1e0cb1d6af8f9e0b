#include "pipeline/byte_source.h"

#include <sys/stat.h>

#include <cstring>

namespace vigil::pipeline {

ByteSource::~ByteSource() {
  if (zs_init_) inflateEnd(&zs_);
  if (file_) std::fclose(file_);
}

Result<std::unique_ptr<ByteSource>> ByteSource::Open(const std::string& path) {
  std::unique_ptr<ByteSource> s(new ByteSource());  // private constructor
  s->path_ = path;
  s->file_ = std::fopen(path.c_str(), "rb");
  if (!s->file_) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fileno(s->file_), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return InvalidArgument(path + " is a directory");
    s->inode_ = st.st_ino;
  }
  unsigned char magic[2] = {0, 0};
  size_t n = std::fread(magic, 1, 2, s->file_);
  std::rewind(s->file_);
  if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    s->gzip_ = true;
    if (inflateInit2(&s->zs_, 15 + 32) != Z_OK) return Internal("zlib init failed");
    s->zs_init_ = true;
    s->in_buf_.resize(1 << 16);
  }
  return s;
}

uint64_t ByteSource::DiskSize() const {
  struct stat st;
  if (file_ && fstat(fileno(file_), &st) == 0) return static_cast<uint64_t>(st.st_size);
  return 0;
}

uint64_t ByteSource::disk_offset() const {
  if (!file_) return 0;
  long p = std::ftell(file_);
  return p < 0 ? 0 : static_cast<uint64_t>(p);
}

size_t ByteSource::Read(std::string& out, size_t max) {
  if (finished_ || !file_) return 0;
  size_t old = out.size();
  if (!gzip_) {
    out.resize(old + max);
    size_t n = std::fread(out.data() + old, 1, max, file_);
    out.resize(old + n);
    if (n == 0) std::clearerr(file_);  // allow reading more later if the file grows
    return n;
  }
  out.resize(old + max);
  size_t produced = 0;
  while (produced < max) {
    if (zs_.avail_in == 0) {
      size_t n = std::fread(in_buf_.data(), 1, in_buf_.size(), file_);
      if (n == 0) {
        std::clearerr(file_);
        break;
      }
      compressed_read_ += n;
      zs_.next_in = reinterpret_cast<Bytef*>(in_buf_.data());
      zs_.avail_in = static_cast<uInt>(n);
    }
    zs_.next_out = reinterpret_cast<Bytef*>(out.data() + old + produced);
    zs_.avail_out = static_cast<uInt>(max - produced);
    int rc = inflate(&zs_, Z_NO_FLUSH);
    produced = max - zs_.avail_out;
    if (rc == Z_STREAM_END) {
      // Another member may follow (concatenated gzip): reset and go on.
      inflateReset(&zs_);
      member_done_ = true;
      continue;
    }
    member_done_ = false;
    if (rc == Z_BUF_ERROR) continue;  // needs more input
    if (rc != Z_OK) {
      error_ = Corrupt("gzip stream is corrupt at compressed byte " +
                       std::to_string(compressed_read_ - zs_.avail_in) + " (" +
                       (zs_.msg ? zs_.msg : "inflate error") + ")");
      finished_ = true;
      break;
    }
  }
  out.resize(old + produced);
  return produced;
}

bool ByteSource::TruncatedAtEnd() const {
  // At the end of the file, a gzip source that is not at a member boundary was cut off.
  return gzip_ && !member_done_ && compressed_read_ > 0;
}

uint64_t ByteSource::Skip(uint64_t n) {
  std::string tmp;
  uint64_t skipped = 0;
  while (skipped < n) {
    tmp.clear();
    size_t want = static_cast<size_t>(std::min<uint64_t>(n - skipped, 1 << 20));
    size_t got = Read(tmp, want);
    if (got == 0) break;
    skipped += got;
  }
  return skipped;
}

}  // namespace vigil::pipeline

// Binary (de)serialisation of learned state for checkpoints.
//
// A checkpoint is a sequence of little-endian fixed-width integers, doubles and
// length-prefixed strings. StateReader never trusts its input: every read is bounds-
// checked, lengths are capped, and the first failure sticks (ok() turns false and later
// reads return zero values), so loaders can read a whole record and check ok() once.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vigil::learn {

inline constexpr size_t kMaxStateString = 1 << 20;  // one string in a checkpoint: 1 MiB

class StateWriter {
 public:
  void U8(uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void I64(int64_t v) { Raw(&v, sizeof v); }
  void F64(double v) { Raw(&v, sizeof v); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    buf_.append(s.data(), s.size());
  }
  const std::string& data() const { return buf_; }
  std::string Take() { return std::move(buf_); }

 private:
  void Raw(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  std::string buf_;
};

class StateReader {
 public:
  explicit StateReader(std::string_view data) : data_(data) {}
  uint8_t U8() {
    uint8_t v = 0;
    Raw(&v, 1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  int64_t I64() {
    int64_t v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  double F64() {
    double v = 0;
    Raw(&v, sizeof v);
    return v;
  }
  std::string Str() {
    uint32_t n = U32();
    if (!ok_ || n > kMaxStateString || n > data_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items to follow, rejected (ok() false) above `cap`.
  uint64_t Count(uint64_t cap) {
    uint64_t n = U64();
    if (n > cap) ok_ = false;
    return ok_ ? n : 0;
  }
  // A count of items written as at least item_bytes each: also refused when the bytes
  // left cannot hold that many, so a hostile count is not allocated for before it fails.
  uint64_t Count(uint64_t cap, size_t item_bytes) {
    uint64_t n = Count(cap);
    if (ok_ && item_bytes > 0 && n > (data_.size() - pos_) / item_bytes) ok_ = false;
    return ok_ ? n : 0;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  void Raw(void* p, size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return;
    }
    std::memcpy(p, data_.data() + pos_, n);
    pos_ += n;
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace vigil::learn

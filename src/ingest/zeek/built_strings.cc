#include "ingest/zeek/built_strings.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace vigil::ingest::zeek {

namespace {

constexpr size_t kBlockBytes = 64 * 1024;

struct Pool {
  std::mutex mu;
  std::unordered_set<std::string_view> set;
  std::vector<std::unique_ptr<char[]>> blocks;
  size_t used_in_block = 0;
  size_t block_size = 0;
  BuiltStringStats stats;
};

Pool& GlobalPool() {
  static Pool* pool = new Pool();  // never destroyed: views into it must stay valid at exit
  return *pool;
}

}  // namespace

std::optional<std::string_view> InternBuiltString(std::string_view s) {
  Pool& p = GlobalPool();
  std::lock_guard<std::mutex> lock(p.mu);
  if (auto it = p.set.find(s); it != p.set.end()) return *it;
  if (p.stats.bytes + s.size() > kMaxBuiltStringBytes) {
    ++p.stats.fallbacks;
    return std::nullopt;
  }
  if (p.blocks.empty() || p.used_in_block + s.size() > p.block_size) {
    size_t size = s.size() > kBlockBytes ? s.size() : kBlockBytes;
    p.blocks.push_back(std::make_unique<char[]>(size));
    p.block_size = size;
    p.used_in_block = 0;
  }
  char* dst = p.blocks.back().get() + p.used_in_block;
  if (!s.empty()) std::memcpy(dst, s.data(), s.size());
  p.used_in_block += s.size();
  p.stats.bytes += s.size();
  std::string_view stored(dst, s.size());
  p.set.insert(stored);
  return stored;
}

BuiltStringStats GetBuiltStringStats() {
  Pool& p = GlobalPool();
  std::lock_guard<std::mutex> lock(p.mu);
  return p.stats;
}

}  // namespace vigil::ingest::zeek

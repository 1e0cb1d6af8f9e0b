#include "server/tokens.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/time.h"

namespace vigil::server {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kViewer: return "viewer";
    case Role::kResponder: return "responder";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view s) {
  if (s == "viewer") return Role::kViewer;
  if (s == "responder") return Role::kResponder;
  if (s == "admin") return Role::kAdmin;
  return std::nullopt;
}

namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string Sha256Hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

Status TokenStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadLocked();
}

void TokenStore::ReloadIfChanged() {
  struct stat st{};
  int64_t mtime = -1, size = -1;
  if (::stat(path_.c_str(), &st) == 0) {
    mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    size = st.st_size;
  }
  if (mtime == loaded_mtime_ns_ && size == loaded_size_) return;
  auto keep = file_entries_;
  if (!LoadLocked().ok()) file_entries_ = std::move(keep);
}

Status TokenStore::LoadLocked() {
  struct stat st{};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      file_entries_.clear();
      loaded_mtime_ns_ = loaded_size_ = -1;
      return Status::Ok();
    }
    return IoError(path_ + ": " + std::strerror(errno));
  }
  loaded_mtime_ns_ = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  loaded_size_ = st.st_size;
  file_entries_.clear();
  if (static_cast<size_t>(st.st_size) > kMaxTokenFileBytes) {
    return LimitExceeded(path_ + ": larger than " + std::to_string(kMaxTokenFileBytes) + " bytes");
  }
  std::ifstream in(path_);
  if (!in) return IoError(path_ + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("tokens") || !j["tokens"].is_array()) {
    return Corrupt(path_ + ": not a token file (want {\"tokens\": [...]})");
  }
  for (const auto& t : j["tokens"]) {
    if (!t.is_object()) return Corrupt(path_ + ": a token entry is not an object");
    auto role = ParseRole(t.value("role", ""));
    std::string sha = t.value("sha256", "");
    if (!role || sha.size() != 64) return Corrupt(path_ + ": token entry without a role or sha256");
    file_entries_.push_back({t.value("id", ""), t.value("name", ""), *role, sha, t.value("created", "")});
  }
  return Status::Ok();
}

Status TokenStore::Save() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : file_entries_) {
    arr.push_back({{"id", e.id}, {"name", e.name}, {"role", RoleName(e.role)}, {"sha256", e.sha256},
                   {"created", e.created}});
  }
  std::string text = nlohmann::json({{"tokens", arr}}).dump(2) + "\n";
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError(tmp + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok &= ::fsync(fd) == 0;
  ok &= ::close(fd) == 0;
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    return IoError(path_ + ": cannot write: " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<std::string> TokenStore::Create(Role role, const std::string& name) {
  unsigned char secret[32];
  unsigned char idb[4];
  if (RAND_bytes(secret, sizeof secret) != 1 || RAND_bytes(idb, sizeof idb) != 1) {
    return Internal("no random bytes for a token");
  }
  std::string token = "vgl_" + Hex(secret, sizeof secret);
  TokenEntry e;
  e.id = "t-" + Hex(idb, sizeof idb);
  e.name = name;
  e.role = role;
  e.sha256 = Sha256Hex(token);
  e.created = FormatRfc3339(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() *
                            kMicrosPerSecond);
  std::lock_guard<std::mutex> lock(mu_);
  ReloadIfChanged();  // keep tokens another process created since
  file_entries_.push_back(e);
  Status st = Save();
  if (!st.ok()) {
    file_entries_.pop_back();
    return st;
  }
  return token;
}

void TokenStore::AddConfigured(TokenEntry e) {
  std::lock_guard<std::mutex> lock(mu_);
  config_entries_.push_back(std::move(e));
}

std::optional<TokenEntry> TokenStore::Verify(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  std::string h = Sha256Hex(token);
  std::lock_guard<std::mutex> lock(mu_);
  ReloadIfChanged();
  for (const auto* list : {&file_entries_, &config_entries_}) {
    for (const auto& e : *list) {
      if (ConstantTimeEqual(e.sha256, h)) return e;
    }
  }
  return std::nullopt;
}

size_t TokenStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return file_entries_.size() + config_entries_.size();
}

}  // namespace vigil::server

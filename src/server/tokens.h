// API tokens and roles. A token is a random secret shown once by `vigil token create`;
// only its SHA-256 is kept, in state_dir/tokens.json (mode 0600), so reading the state dir
// does not give API access. Tokens may also be listed in config `server.tokens` (as
// "sha256:<hex>" or, for tests and labs, the plain token).
//
// Roles are ordered: viewer < responder (may approve and cancel actions) < admin.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil::server {

enum class Role { kViewer = 1, kResponder = 2, kAdmin = 3 };
const char* RoleName(Role r);
std::optional<Role> ParseRole(std::string_view s);

// Lowercase hex SHA-256 of `s`.
std::string Sha256Hex(std::string_view s);

struct TokenEntry {
  std::string id;      // short public id ("t-1a2b3c4d"), for audit records and revocation
  std::string name;    // who it is for
  Role role = Role::kViewer;
  std::string sha256;  // of the token
  std::string created; // RFC 3339
};

// Caps: the token file is small and read whole.
inline constexpr size_t kMaxTokenFileBytes = 1 << 20;
inline constexpr size_t kMaxTokenLength = 512;

class TokenStore {
 public:
  // Tokens in `path` (may not exist yet: then there are none).
  explicit TokenStore(std::string path) : path_(std::move(path)) {}

  // Reads the file; an error for unreadable or malformed content (never throws).
  Status Load();
  // Creates a token with `role`, saves the file (0600) and returns the secret, which is
  // shown once and not kept.
  Result<std::string> Create(Role role, const std::string& name);
  // Adds an entry from config (not saved to the file).
  void AddConfigured(TokenEntry e);
  // The entry for a presented token, or nullopt. Constant-time comparison of hashes. Picks
  // up tokens created by `vigil token create` while the server runs (the file's mtime and
  // size are checked on each call; a file that no longer parses keeps the last good set).
  std::optional<TokenEntry> Verify(std::string_view token);
  size_t size() const;

 private:
  Status Save() const;
  Status LoadLocked();
  void ReloadIfChanged();
  std::string path_;
  int64_t loaded_mtime_ns_ = -1;
  int64_t loaded_size_ = -1;
  mutable std::mutex mu_;
  std::vector<TokenEntry> file_entries_;
  std::vector<TokenEntry> config_entries_;
};

}  // namespace vigil::server

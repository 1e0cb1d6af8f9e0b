// nftables backend: network actions as elements of named sets in one Vigil-owned table.
//
// Everything lives in table `inet <table>` (default "vigil"): sets with `flags timeout`
// whose elements carry the action's remaining time, so a block lapses on its own even if
// Vigil is down, and base chains (input, forward, output at priority filter - 10) that jump
// to one `enforce` chain matching the sets. Vigil never lists, changes or deletes any other
// table. Commands go to `nft -j -f -` as a JSON batch through fork/exec (optionally inside a
// network namespace with `ip netns exec NAME`), never through a shell, and every value in a
// set element is a typed address (core/ip.h), port number or protocol keyword, so attacker
// text can never become part of an nftables expression.
//
// Sets (4 = IPv4, 6 = IPv6):
//   conn4/6  saddr . daddr . l4proto . dport   block-connection, suspend-endpoint with a port
//   host4/6  saddr . daddr                     suspend-endpoint without a port (both ways)
//   quar4/6  addr                              quarantine-device, enforce-pattern-of-life
//   pol4/6   addr . addr                       pattern of life: device . known peer
//   ess4/6   addr . port                       essential services (from config)
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "respond/backend.h"

namespace vigil::respond {

struct EssentialService {
  IpAddr address;
  uint16_t port = 0;  // 0 = any port
};

struct NftablesOptions {
  std::string table = "vigil";  // [A-Za-z0-9_]{1,32}
  std::string family = "inet";  // only inet: one table covers IPv4 and IPv6
  std::string netns;            // run nft inside this named network namespace ("" = current)
  std::string nft = "nft";      // the nft binary
  std::vector<EssentialService> essential;
  Micros timeout = 10 * kMicrosPerSecond;  // per nft invocation
};

class NftablesBackend : public Backend {
 public:
  // Validates the options (table name alphabet, family, netns name); errors are returned by
  // Make, so a constructed backend always has usable options.
  static Result<std::unique_ptr<NftablesBackend>> Make(NftablesOptions options);

  std::string_view name() const override { return "nftables"; }
  bool Supports(std::string_view kind) const override;
  Result<std::string> Apply(const Action& action, Micros hold) override;
  Result<std::string> Revoke(const Action& action) override;

  // Creates the table, sets and chains if missing and (re)writes the rules and the essential
  // services; existing set elements (actions in force) are kept. Apply calls it once.
  Status EnsureTable();
  // Deletes the Vigil table (and with it every Vigil rule and element). Succeeds when the
  // table does not exist.
  Status RemoveTable();

  // The JSON batches, exposed for tests (pure, no I/O).
  nlohmann::json SetupBatch() const;
  // The element(s) an action puts in place; an error for an action whose addresses, port or
  // protocol do not parse as such.
  Result<nlohmann::json> ApplyBatch(const Action& action, Micros hold) const;
  Result<nlohmann::json> RevokeBatch(const Action& action) const;

  // The argument vector used to run nft (with the netns prefix).
  std::vector<std::string> NftArgv(const std::vector<std::string>& args) const;

 private:
  explicit NftablesBackend(NftablesOptions o) : o_(std::move(o)) {}
  Status Run(const nlohmann::json& batch);
  NftablesOptions o_;
  bool table_ready_ = false;
};

}  // namespace vigil::respond

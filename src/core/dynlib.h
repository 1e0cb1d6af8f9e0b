// Shared libraries opened on first use (dlopen) instead of at every start.
//
// libcurl (the Defender poller, webhooks and the cloud response backends), libpq (the
// PostgreSQL store) and libpcap (live capture) bring about 25 more shared libraries with
// them: TLS, Kerberos, LDAP, SASL, D-Bus, ... Linked as usual, the dynamic loader maps and
// relocates every one of them at each start of each vigil command, whether the command
// uses them or not: about 15 ms and 360 page faults of a 30 ms start on the VM we measure
// on (docs/performance.md, "Process start"). Opened on first use, only the commands that
// use them pay, once.
//
// Each of those clients has a table of typed function pointers (CurlApi in
// core/curl_api.h, PqApi in store/pq_api.h, PcapApi in ingest/pcap/pcap_flow.cc). The types
// come from the library's own header (decltype of the real prototype), so a call through
// the table is checked against the same declaration a direct call would be.
#pragma once

#include <initializer_list>

#include "core/status.h"

namespace vigil {

// One symbol to resolve, and where its address goes.
struct DynSymbol {
  const char* name;
  void** slot;
};

// A function-pointer member of an API table, as a DynSymbol.
template <typename Fn>
DynSymbol Sym(const char* name, Fn*& slot) {
  return {name, reinterpret_cast<void**>(&slot)};
}

// Opens the first of `sonames` that loads (RTLD_NOW | RTLD_LOCAL; kept open once loaded) and
// resolves every symbol into its slot. An error names the library and what was missing: no
// library of those names could be loaded (with the loader's reason), or one lacks a symbol
// (the slots are then left as they were). Not synchronised: callers load from a
// function-local static's initialiser.
Status LoadSymbols(std::initializer_list<const char*> sonames,
                   std::initializer_list<DynSymbol> symbols);

}  // namespace vigil

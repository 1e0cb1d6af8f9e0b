// Deterministic synthetic telemetry: the demo data set behind `vigil demo` / `make run`,
// the baselines of detection tests, and the benchmark's large conn.log.
//
// Everything is generated from a fixed seed with a small PRNG (SplitMix64), so the same
// call writes byte-identical files on every machine. docs/demo.md describes the network
// and the attack story in the demo data set.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "core/time.h"

namespace vigil::pipeline {

// Writes the demo network as Zeek TSV logs (conn.log, http.log, dns.log, ssl.log,
// files.log) into `dir`: five days of a 45-device office and server network; on day five
// an internet-facing Next.js server is exploited, calls back, downloads tools, beacons
// every 60 s and starts mining. Returns the time of the first attack event.
Result<Micros> WriteDemoDataset(const std::string& dir, uint64_t seed = 42);

// Writes a month of benign traffic as Zeek TSV logs into `dir`, for calibrating scores:
// `workstations` office machines (browsing popular and never-seen sites, SaaS, the intranet
// with browsers that update mid-month, NTP, an internal DNS resolver, telemetry to an
// internal collector, a vendor heartbeat every workstation sends, daily OS update checks
// and monthly installer downloads from the vendor CDN), an internet-facing web server
// answering the internet and fetching its package updates, a backup server pushing nightly
// to cloud storage, and a laptop that joins on day 20. No attack. Returns the first day's
// start.
Result<Micros> WriteBenignMonth(const std::string& dir, int workstations = 25, int days = 30,
                                uint64_t seed = 1234);

// `records` realistic CloudTrail records (about 1.1 KB each: IAM users and assumed-role
// sessions from 500 identities, console, CLI, SDK and Terraform user agents, reads and writes
// over eight services, 2% AccessDenied) from a fixed-seed generator: as one S3
// {"Records":[...]} document (`doc`) and as JSON lines (`lines`); either may be null.
void BenchCloudTrail(size_t records, std::string* doc, std::string* lines);

// Writes a conn.log of `records` connections among `devices` internal devices and
// `externals` external hosts, in Zeek TSV (tsv_path) and Zeek JSON (json_path; either may
// be empty). For throughput benchmarks. With usual_share = 0 each connection's two ends
// are drawn independently (half the connections to 1 % of the hosts), so nearly every one
// is a device's first contact with its host: the network models' insert path. With
// usual_share > 0, that share of a device's connections goes to one of its own eight
// usual hosts (fixed per device), as real devices mostly repeat their peers.
Status WriteBenchConnLog(const std::string& tsv_path, const std::string& json_path, uint64_t records,
                         uint32_t devices, uint32_t externals, uint64_t seed = 7,
                         double usual_share = 0);

}  // namespace vigil::pipeline

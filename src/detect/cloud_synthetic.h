// A deterministic synthetic AWS account for testing and benchmarking the cloud models.
//
// Weeks of benign activity in account 111122223333, starting 2024-01-01 (a Monday):
//   admin-ann   IAM user, weekdays, console from the office (198.51.100.10); reads across
//               EC2/IAM/S3/CloudTrail; creates a user and attaches ReadOnlyAccess on day 9,
//               resets that user's password on day 10, attaches a policy again on day 23 (her
//               "monthly" IAM changes).
//   ci-deploy   role, nightly at 02:00 with generated session names (botocore-session-N),
//               boto3 from an AWS address (3.85.10.20, in aws_networks): reads, RunInstances
//               t3.medium in us-east-1, artifact GetObjects.
//   dev-bob     IAM user, weekdays, console only: office (198.51.100.21) Mon-Wed, home
//               (203.0.113.50) Thu-Fri; 10-25 console reads a day.
//   dev-cara    IAM user, weekdays, aws-cli from the office with key AKIACARA0000001, 20-40
//               reads a day and a 35-call read burst every Wednesday.
// With the attack, on the Monday after the baseline, dev-bob's credentials are used from
// 192.0.2.66 in seven steps, each meant to be its own breach (Step lists them with their
// time windows): console login from the new source, switch to the CLI with a new key,
// password reset of admin-ann, a discovery burst (150 reads over 14 services, 30 denied),
// AdministratorAccess attached to itself, p3.16xlarge instances in eu-north-1, and a public
// bucket policy on corp-data followed by 40 object deletions.
//
// Randomness is a fixed-seed splitmix64, so the same arguments give the same events on every
// machine. Events are enriched by the real enrich::CloudIdentityStep with SyntheticOptions().
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/event.h"
#include "enrich/cloud_identity.h"

namespace vigil::detect::cloud {

struct AttackStep {
  std::string model;  // the model expected to fire for this step
  Micros begin = 0;   // the step's first and last event time
  Micros end = 0;
};

struct SyntheticAccount {
  std::deque<std::string> strings;  // owns every string the events point at
  std::vector<Event> events;        // in event-time order, enriched
  Micros start = 0;
  Micros attack_start = 0;          // 0 without the attack
  std::vector<AttackStep> steps;
  static constexpr const char* kAccount = "111122223333";
  static constexpr const char* kVictim = "arn:aws:iam::111122223333:user/dev-bob";
  static constexpr const char* kAdmin = "arn:aws:iam::111122223333:user/admin-ann";
  static constexpr const char* kCiRole = "arn:aws:iam::111122223333:role/ci-deploy";
  static constexpr const char* kAttackerIp = "192.0.2.66";
};

// corporate 198.51.100.0/24, AWS 3.80.0.0/12, no GeoIP.
enrich::CloudIdentityOptions SyntheticOptions();

// `days` of baseline starting at `start`, then the takeover when `with_attack`.
std::unique_ptr<SyntheticAccount> GenerateAccount(int days, bool with_attack, uint64_t seed = 42,
                                                  Micros start = 1'704'067'200LL * kMicrosPerSecond);

// The account's events as CloudTrail records, one a line (the "cloudtrail-jsonl" format), for
// whole-pipeline tests and benchmarks. requestParameters are written as the JSON they hold.
std::string ToCloudTrailJsonl(const SyntheticAccount& account);

}  // namespace vigil::detect::cloud

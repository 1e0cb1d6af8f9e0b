// Cloud identity enrichment: who made a CloudTrail call, from where, with what client.
//
// For every kCloudApi event this step sets
//   entity  {kIdentity, id, name}: the identity whose pattern of life the cloud models learn.
//     IAM user      -> its ARN (arn:aws:iam::A:user/alice), name = user name
//     root          -> arn:aws:iam::A:root, name "root"
//     assumed role  -> the session ARN as written (arn:aws:sts::A:assumed-role/ROLE/SESSION),
//                      name "ROLE/SESSION", when the session name is stable (a person's name
//                      or e-mail, an EC2 instance id i-..., a fixed job name); when the session
//                      name is generated per session (botocore-session-1712..., long digit or
//                      hex runs: see IsGeneratedSessionName) -> the issuer role ARN
//                      (arn:aws:iam::A:role/ROLE), so a CI role is one identity, not thousands.
//     federated / SAML / web identity -> the ARN, else principalId, else userName
//     AWS service   -> the service name in invokedBy ("lambda.amazonaws.com"); not a person
//     only an access key id -> the owner last seen using that key, when one was seen
//   peer    the source: {kDevice, ip} inside cloud.corporate_networks / networks.internal,
//           {kExternal, ip or service name} otherwise.
// and fills the CloudApiBody enrichment fields: session_name, source_class (aws-internal for
// AWS service names, "AWS Internal" and cloud.aws_networks; corporate; external), ua_family,
// not_a_person (AWSService callers, userIdentity.invokedBy other than the console's
// signin.amazonaws.com, service-linked roles AWSServiceRoleFor*), and the source keys the
// models learn: source_key = the ASN when cloud.asn_db is configured, else the /24 (IPv4) or
// /48 (IPv6) prefix; source_region_key = the country when cloud.geoip_db is configured, else
// the /16 (IPv4) or /32 (IPv6) prefix. A service-name source keys on the name itself.
//
// Lookup tables: access key id -> owner, capped at max_keys per generation (two generations
// are kept, so a view handed out stays valid until max_keys newer keys have been seen).
// No per-entity history is kept here (ARCHITECTURE.md): that is the models'.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <absl/container/node_hash_map.h>

#include "config/config.h"
#include "core/event.h"
#include "enrich/enricher.h"

namespace vigil::enrich {

// The client family of a CloudTrail userAgent. Pure.
CloudUaFamily ClassifyUserAgent(std::string_view user_agent);

// True when an assumed-role session name is generated per session rather than naming a
// person or machine: SDK defaults ("botocore-session-...", "aws-go-sdk-...",
// "aws-sdk-java-...", "AWSCLI-Session-..."), or runs of >= 9 digits or >= 16 hex digits
// (an EC2 instance id "i-0123456789abcdef0" is a machine's name, not generated).
bool IsGeneratedSessionName(std::string_view session);

// "203.0.113.0/24" for "203.0.113.7", "2001:db8:1::/48" style for IPv6, "" when `ip` is not an
// address. The text models show for a source when no ASN is known.
std::string SourcePrefixText(std::string_view ip);

struct CloudIdentityOptions {
  CidrSet corporate;     // cloud.corporate_networks plus networks.internal
  CidrSet aws;           // cloud.aws_networks
  std::string geoip_db;  // path of a MaxMind country (or city) database, "" for none
  std::string asn_db;    // path of a MaxMind ASN database, "" for none
  size_t max_keys = 200'000;  // access keys remembered per generation
};

CloudIdentityOptions CloudIdentityOptionsFromConfig(const config::Config& cfg);

class CloudIdentityStep : public EnrichStep {
 public:
  explicit CloudIdentityStep(CloudIdentityOptions opts);
  ~CloudIdentityStep() override;

  const char* name() const override { return "cloud-identity"; }
  KindSet kinds() const override { return {EventKind::kCloudApi}; }
  void Enrich(Event& e) override;
  void Save(learn::StateWriter& w) const override;
  void Load(learn::StateReader& r) override;

  bool geoip_open() const;
  bool asn_open() const;
  size_t known_keys() const { return keys_.size() + old_keys_.size(); }

 private:
  struct Owner {
    std::string id;
    std::string name;
  };
  struct Mmdb;
  const Owner* FindKey(std::string_view key) const;
  void RememberKey(std::string_view key, std::string_view id, std::string_view name);

  CloudIdentityOptions opts_;
  absl::node_hash_map<std::string, Owner> keys_;      // node map: views stay put
  absl::node_hash_map<std::string, Owner> old_keys_;  // the previous generation
  std::unique_ptr<Mmdb> geo_;
  std::unique_ptr<Mmdb> asn_;
};

}  // namespace vigil::enrich

#include "enrich/cloud_identity.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/hash.h"
#include "enrich/mmdb_writer_test_util.h"
#include "learn/state_io.h"

namespace vigil::enrich {
namespace {

Event Call(CloudApiBody b) {
  Event e;
  e.kind = EventKind::kCloudApi;
  e.body = b;
  return e;
}

CloudIdentityOptions Opts() {
  CloudIdentityOptions o;
  o.corporate.Add(*Cidr::Parse("198.51.100.0/24"));
  o.aws.Add(*Cidr::Parse("3.80.0.0/12"));
  return o;
}

const CloudApiBody& B(const Event& e) { return *e.As<CloudApiBody>(); }

// An IAM user's API call from `ip`, through the step.
Event AliceFrom(CloudIdentityStep& step, const char* ip) {
  CloudApiBody b;
  b.identity_type = "IAMUser";
  b.principal_arn = "arn:aws:iam::1:user/alice";
  b.source_ip = ip;
  Event e = Call(b);
  step.Enrich(e);
  return e;
}

TEST(CloudIdentity, IamUserIsKeyedByArnAndNamedByUserName) {
  CloudIdentityStep step(Opts());
  CloudApiBody b;
  b.identity_type = "IAMUser";
  b.principal_arn = "arn:aws:iam::111122223333:user/alice";
  b.user_name = "alice";
  b.source_ip = "203.0.113.9";
  b.user_agent = "aws-cli/2.13.0 Python/3.11.4 Linux/6.1 exe/x86_64 prompt/off";
  Event e = Call(b);
  step.Enrich(e);
  EXPECT_EQ(e.entity.type, EntityType::kIdentity);
  EXPECT_EQ(e.entity.id, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(e.entity.name, "alice");
  EXPECT_EQ(e.peer.type, EntityType::kExternal);
  EXPECT_EQ(e.peer.id, "203.0.113.9");
  EXPECT_EQ(B(e).source_class, CloudSourceClass::kExternal);
  EXPECT_EQ(B(e).ua_family, CloudUaFamily::kAwsCli);
  EXPECT_FALSE(B(e).not_a_person);
  // The keys the cloud models' tables use, hashed once here.
  EXPECT_EQ(B(e).identity_key, HashValue("arn:aws:iam::111122223333:user/alice"));
}

TEST(CloudIdentity, StableSessionsKeepTheSessionGeneratedOnesFoldIntoTheRole) {
  CloudIdentityStep step(Opts());
  CloudApiBody b;
  b.identity_type = "AssumedRole";
  b.principal_arn = "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com";
  b.session_issuer_arn = "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc";
  Event sso = Call(b);
  step.Enrich(sso);
  EXPECT_EQ(sso.entity.id, "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com");
  EXPECT_EQ(sso.entity.name, "AWSReservedSSO_Admin_abc/alice@example.com");
  EXPECT_EQ(B(sso).session_name, "alice@example.com");

  b.principal_arn = "arn:aws:sts::1:assumed-role/ci-deploy/botocore-session-1712345678";
  b.session_issuer_arn = "arn:aws:iam::1:role/ci-deploy";
  Event ci = Call(b);
  step.Enrich(ci);
  EXPECT_EQ(ci.entity.id, "arn:aws:iam::1:role/ci-deploy");
  EXPECT_EQ(ci.entity.name, "ci-deploy");
  EXPECT_EQ(B(ci).session_name, "botocore-session-1712345678");

  EXPECT_TRUE(IsGeneratedSessionName("1641313043312360000"));
  EXPECT_TRUE(IsGeneratedSessionName("aws-go-sdk-1712345678901"));
  EXPECT_TRUE(IsGeneratedSessionName("0123456789abcdef0123"));
  EXPECT_FALSE(IsGeneratedSessionName("i-0317f6c6b66ae9c40"));
  EXPECT_FALSE(IsGeneratedSessionName("alice@example.com"));
  EXPECT_FALSE(IsGeneratedSessionName("nightly-backup"));
}

TEST(CloudIdentity, RootServicesAndServiceLinkedRolesAreMarked) {
  CloudIdentityStep step(Opts());
  CloudApiBody root;
  root.identity_type = "Root";
  root.principal_arn = "arn:aws:iam::1:root";
  root.invoked_by = "signin.amazonaws.com";  // the console acting for a person
  Event r = Call(root);
  step.Enrich(r);
  EXPECT_EQ(r.entity.id, "arn:aws:iam::1:root");
  EXPECT_EQ(r.entity.name, "root");
  EXPECT_FALSE(B(r).not_a_person);

  CloudApiBody svc;
  svc.identity_type = "AWSService";
  svc.invoked_by = "lambda.amazonaws.com";
  svc.source_ip = "lambda.amazonaws.com";
  svc.user_agent = "lambda.amazonaws.com";
  Event s = Call(svc);
  step.Enrich(s);
  EXPECT_EQ(s.entity.id, "lambda.amazonaws.com");
  EXPECT_TRUE(B(s).not_a_person);
  EXPECT_EQ(B(s).source_class, CloudSourceClass::kAwsInternal);
  EXPECT_EQ(B(s).ua_family, CloudUaFamily::kAwsService);

  CloudApiBody slr;
  slr.identity_type = "AssumedRole";
  slr.principal_arn = "arn:aws:sts::1:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling";
  slr.session_issuer_arn = "arn:aws:iam::1:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
  Event l = Call(slr);
  step.Enrich(l);
  EXPECT_TRUE(B(l).not_a_person);

  CloudApiBody cfn;
  cfn.identity_type = "IAMUser";
  cfn.principal_arn = "arn:aws:iam::1:user/bob";
  cfn.invoked_by = "cloudformation.amazonaws.com";
  Event c = Call(cfn);
  step.Enrich(c);
  EXPECT_TRUE(B(c).not_a_person);
  EXPECT_EQ(c.entity.id, "arn:aws:iam::1:user/bob");
}

TEST(CloudIdentity, AnAccessKeySeenWithItsOwnerResolvesLaterRecordsWithOnlyTheKey) {
  CloudIdentityStep step(Opts());
  CloudApiBody only_key;
  only_key.access_key_id = "AKIAEXAMPLE1";
  Event before = Call(only_key);
  step.Enrich(before);
  EXPECT_EQ(before.entity.id, "AKIAEXAMPLE1");  // unknown yet: keyed by the key itself

  CloudApiBody full;
  full.identity_type = "IAMUser";
  full.principal_arn = "arn:aws:iam::1:user/carol";
  full.user_name = "carol";
  full.access_key_id = "AKIAEXAMPLE1";
  Event seen = Call(full);
  step.Enrich(seen);

  Event after = Call(only_key);
  step.Enrich(after);
  EXPECT_EQ(after.entity.id, "arn:aws:iam::1:user/carol");
  EXPECT_EQ(after.entity.name, "carol");

  // The table survives a checkpoint.
  learn::StateWriter w;
  step.Save(w);
  CloudIdentityStep restored(Opts());
  learn::StateReader r(w.data());
  restored.Load(r);
  EXPECT_TRUE(r.ok());
  Event again = Call(only_key);
  restored.Enrich(again);
  EXPECT_EQ(again.entity.id, "arn:aws:iam::1:user/carol");
}

TEST(CloudIdentity, TheKeyTableIsCappedByGenerations) {
  CloudIdentityOptions o = Opts();
  o.max_keys = 2;
  CloudIdentityStep step(o);
  const char* keys[] = {"AKIA1", "AKIA2", "AKIA3", "AKIA4", "AKIA5"};
  const char* users[] = {"arn:aws:iam::1:user/u1", "arn:aws:iam::1:user/u2",
                         "arn:aws:iam::1:user/u3", "arn:aws:iam::1:user/u4",
                         "arn:aws:iam::1:user/u5"};
  for (int i = 0; i < 5; ++i) {
    CloudApiBody b;
    b.identity_type = "IAMUser";
    b.principal_arn = users[i];
    b.access_key_id = keys[i];
    Event e = Call(b);
    step.Enrich(e);
  }
  EXPECT_LE(step.known_keys(), 4u);
  CloudApiBody k1;
  k1.access_key_id = "AKIA1";
  Event old = Call(k1);
  step.Enrich(old);
  EXPECT_EQ(old.entity.id, "AKIA1");  // aged out
  CloudApiBody k5;
  k5.access_key_id = "AKIA5";
  Event recent = Call(k5);
  step.Enrich(recent);
  EXPECT_EQ(recent.entity.id, "arn:aws:iam::1:user/u5");
}

// With MaxMind databases configured (here written by the test: Debian ships the reader, not
// the data), sources are keyed by ASN and regions by country: two addresses in different
// /24s of one ASN are one source; another ASN in the same country is a new source but the
// same region; addresses the databases do not cover fall back to prefixes.
TEST(CloudIdentity, SourcesAreKeyedByAsnAndCountryFromMaxMindDatabases) {
  using testing::Ipv4;
  using testing::MmdbWriter;
  char tmpl[] = "/tmp/vigil-mmdb-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  MmdbWriter asn, geo;
  asn.Add(Ipv4(185, 220, 0, 0), 16, MmdbWriter::Map({{"autonomous_system_number", MmdbWriter::U32(64500)},
                                                      {"autonomous_system_organization", MmdbWriter::Str("Example VPN")}}));
  asn.Add(Ipv4(91, 200, 0, 0), 16, MmdbWriter::Map({{"autonomous_system_number", MmdbWriter::U32(64501)}}));
  geo.Add(Ipv4(185, 220, 0, 0), 16, MmdbWriter::Map({{"country", MmdbWriter::Map({{"iso_code", MmdbWriter::Str("NL")}})}}));
  geo.Add(Ipv4(91, 200, 0, 0), 16, MmdbWriter::Map({{"country", MmdbWriter::Map({{"iso_code", MmdbWriter::Str("NL")}})}}));
  ASSERT_TRUE(asn.Write(dir + "/asn.mmdb", "GeoLite2-ASN"));
  ASSERT_TRUE(geo.Write(dir + "/country.mmdb", "GeoLite2-Country"));

  CloudIdentityOptions o = Opts();
  o.asn_db = dir + "/asn.mmdb";
  o.geoip_db = dir + "/country.mmdb";
  CloudIdentityStep step(o);
  ASSERT_TRUE(step.asn_open());
  ASSERT_TRUE(step.geoip_open());
  auto enrich = [&](const char* ip) { return AliceFrom(step, ip); };
  Event a = enrich("185.220.101.4"), b = enrich("185.220.7.9"), c = enrich("91.200.3.3"), d = enrich("203.0.113.9");
  EXPECT_EQ(B(a).asn, 64500u);
  EXPECT_EQ(B(a).country, "NL");
  EXPECT_EQ(B(a).source_class, CloudSourceClass::kExternal);
  EXPECT_EQ(B(a).source_key, B(b).source_key);  // one ASN, two /24s
  EXPECT_EQ(B(c).asn, 64501u);
  EXPECT_NE(B(c).source_key, B(a).source_key);
  EXPECT_EQ(B(c).source_region_key, B(a).source_region_key);  // same country
  EXPECT_EQ(B(d).asn, 0u);  // not in the databases: prefixes
  EXPECT_TRUE(B(d).country.empty());
  EXPECT_NE(B(d).source_key, 0u);
  EXPECT_NE(B(d).source_region_key, B(a).source_region_key);
  std::filesystem::remove_all(dir);
}

TEST(CloudIdentity, SourcesAreClassifiedAndKeyedByPrefixWithoutGeoIp) {
  CloudIdentityOptions o = Opts();
  o.geoip_db = "/nonexistent/GeoLite2-Country.mmdb";
  CloudIdentityStep step(o);
  EXPECT_FALSE(step.geoip_open());
  EXPECT_FALSE(step.asn_open());
  auto enrich = [&](const char* ip) { return AliceFrom(step, ip); };
  Event corp = enrich("198.51.100.20");
  EXPECT_EQ(B(corp).source_class, CloudSourceClass::kCorporate);
  EXPECT_EQ(corp.peer.type, EntityType::kDevice);
  Event vpce = enrich("10.1.2.3");  // networks.internal is not in Opts(); external then
  EXPECT_EQ(B(vpce).source_class, CloudSourceClass::kExternal);
  Event aws = enrich("3.85.1.2");
  EXPECT_EQ(B(aws).source_class, CloudSourceClass::kAwsInternal);
  Event svc = enrich("AWS Internal");
  EXPECT_EQ(B(svc).source_class, CloudSourceClass::kAwsInternal);

  Event a = enrich("203.0.113.7");
  Event same24 = enrich("203.0.113.200");
  Event other24 = enrich("203.0.114.7");
  Event other16 = enrich("192.0.2.7");
  EXPECT_EQ(B(a).asn, 0u);
  EXPECT_EQ(B(a).country, "");
  EXPECT_EQ(B(a).source_key, B(same24).source_key);
  EXPECT_NE(B(a).source_key, B(other24).source_key);
  EXPECT_EQ(B(a).source_region_key, B(other24).source_region_key);
  EXPECT_NE(B(a).source_region_key, B(other16).source_region_key);
  EXPECT_EQ(SourcePrefixText("203.0.113.7"), "203.0.113.0/24");
  EXPECT_EQ(SourcePrefixText("2001:db8:1:2::5"), "2001:db8:1::/48");
  EXPECT_EQ(SourcePrefixText("ec2.amazonaws.com"), "");
}

TEST(CloudIdentity, UserAgentsFallIntoFamilies) {
  EXPECT_EQ(ClassifyUserAgent("console.ec2.amazonaws.com"), CloudUaFamily::kConsole);
  EXPECT_EQ(ClassifyUserAgent("signin.amazonaws.com"), CloudUaFamily::kConsole);
  EXPECT_EQ(ClassifyUserAgent("AWS Internal"), CloudUaFamily::kConsole);
  EXPECT_EQ(ClassifyUserAgent("EC2ConsoleFrontend, aws-internal/3 aws-sdk-java/1.11.848"),
            CloudUaFamily::kConsole);
  EXPECT_EQ(ClassifyUserAgent("[aws-cli/1.18.136 Python/3.8.5 Darwin/19.6.0 botocore/1.17.59]"),
            CloudUaFamily::kAwsCli);
  EXPECT_EQ(ClassifyUserAgent("Boto3/1.17.40 Python/3.6.12 Linux/3.10.0 Botocore/1.20.112"),
            CloudUaFamily::kBoto);
  EXPECT_EQ(ClassifyUserAgent("aws-sdk-go-v2/1.14.0 os/macos lang/go/1.17.6"), CloudUaFamily::kSdk);
  EXPECT_EQ(ClassifyUserAgent("APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) "
                              "terraform-provider-aws/5.31.0 aws-sdk-go/1.49.13"),
            CloudUaFamily::kTerraform);
  EXPECT_EQ(ClassifyUserAgent("autoscaling.amazonaws.com"), CloudUaFamily::kAwsService);
  EXPECT_EQ(ClassifyUserAgent("Go-http-client/1.1"), CloudUaFamily::kUnknown);
  EXPECT_EQ(ClassifyUserAgent(""), CloudUaFamily::kUnknown);
}

TEST(CloudIdentity, RegistersItselfForCloudEvents) {
  config::Config cfg = config::Config::Defaults();
  Enricher enricher(cfg);
  CloudApiBody b;
  b.identity_type = "IAMUser";
  b.principal_arn = "arn:aws:iam::1:user/alice";
  b.source_ip = "10.0.0.5";  // networks.internal counts as corporate
  Event e = Call(b);
  enricher.Enrich(e);
  EXPECT_EQ(e.entity.id, "arn:aws:iam::1:user/alice");
  EXPECT_EQ(B(e).source_class, CloudSourceClass::kCorporate);
}

}  // namespace
}  // namespace vigil::enrich

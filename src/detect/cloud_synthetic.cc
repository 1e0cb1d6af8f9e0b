#include "detect/cloud_synthetic.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace vigil::detect::cloud {
namespace {

struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int Between(int lo, int hi) { return lo + static_cast<int>(Next() % static_cast<uint64_t>(hi - lo + 1)); }
};

struct Call {
  Micros t = 0;
  std::string type = "IAMUser";
  std::string arn, issuer, user, key, ip, ua, source, name, region = "us-east-1", params, error,
      login;
};

class Builder {
 public:
  explicit Builder(SyntheticAccount& out) : out_(out), step_(SyntheticOptions()) {}

  std::string_view Keep(std::string s) {
    if (s.empty()) return {};
    out_.strings.push_back(std::move(s));
    return out_.strings.back();
  }

  void Add(const Call& c) {
    Event e;
    e.time = c.t;
    e.kind = EventKind::kCloudApi;
    CloudApiBody b;
    b.provider = "aws";
    char id[40];
    std::snprintf(id, sizeof id, "synthetic-%08llu", static_cast<unsigned long long>(++n_));
    b.event_id = Keep(id);
    b.event_source = Keep(c.source);
    b.event_name = Keep(c.name);
    b.event_type = c.name == "ConsoleLogin" ? "AwsConsoleSignIn" : "AwsApiCall";
    b.region = Keep(c.region);
    b.source_ip = Keep(c.ip);
    b.user_agent = Keep(c.ua);
    b.account_id = SyntheticAccount::kAccount;
    b.identity_type = Keep(c.type);
    b.principal_arn = Keep(c.arn);
    b.session_issuer_arn = Keep(c.issuer);
    b.user_name = Keep(c.user);
    b.access_key_id = Keep(c.key);
    b.error_code = Keep(c.error);
    b.request_parameters = Keep(c.params);
    b.console_login_result = Keep(c.login);
    b.read_only = c.name.rfind("List", 0) == 0 || c.name.rfind("Describe", 0) == 0 ||
                  c.name.rfind("Get", 0) == 0;
    e.uid = b.event_id;
    e.body = b;
    pending_.push_back(std::move(e));
  }

  void Finish() {
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
    for (Event& e : pending_) {
      step_.Enrich(e);
      out_.events.push_back(e);
    }
  }

 private:
  SyntheticAccount& out_;
  enrich::CloudIdentityStep step_;
  std::vector<Event> pending_;
  uint64_t n_ = 0;
};

struct Read {
  const char* source;
  const char* name;
};
constexpr Read kAdminReads[] = {{"ec2.amazonaws.com", "DescribeInstances"},
                                {"iam.amazonaws.com", "ListUsers"},
                                {"iam.amazonaws.com", "GetUser"},
                                {"s3.amazonaws.com", "ListBuckets"},
                                {"cloudtrail.amazonaws.com", "LookupEvents"}};
constexpr Read kDevReads[] = {{"ec2.amazonaws.com", "DescribeInstances"},
                              {"lambda.amazonaws.com", "ListFunctions20150331"},
                              {"logs.amazonaws.com", "DescribeLogGroups"},
                              {"logs.amazonaws.com", "GetLogEvents"}};
constexpr Read kRecon[] = {
    {"iam.amazonaws.com", "ListUsers"},           {"iam.amazonaws.com", "ListRoles"},
    {"iam.amazonaws.com", "ListPolicies"},        {"ec2.amazonaws.com", "DescribeInstances"},
    {"ec2.amazonaws.com", "DescribeSecurityGroups"}, {"s3.amazonaws.com", "ListBuckets"},
    {"lambda.amazonaws.com", "ListFunctions20150331"}, {"rds.amazonaws.com", "DescribeDBInstances"},
    {"secretsmanager.amazonaws.com", "ListSecrets"}, {"kms.amazonaws.com", "ListKeys"},
    {"dynamodb.amazonaws.com", "ListTables"},     {"sns.amazonaws.com", "ListTopics"},
    {"cloudtrail.amazonaws.com", "DescribeTrails"}, {"guardduty.amazonaws.com", "ListDetectors"},
    {"organizations.amazonaws.com", "DescribeOrganization"}, {"ssm.amazonaws.com", "DescribeParameters"}};

constexpr const char* kConsoleUa = "console.amazonaws.com";
constexpr const char* kBrowserUa =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36";
constexpr const char* kCaraCli = "aws-cli/2.13.0 Python/3.11.4 Linux/6.1.0 exe/x86_64.debian prompt/off";
constexpr const char* kCiUa = "Boto3/1.28.0 md/Botocore#1.31.0 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.4 Botocore/1.31.0";
constexpr const char* kAttackCli = "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali3 exe/x86_64.kali prompt/off";

Call User(Micros t, const char* user, const char* ip, const char* ua, const char* key) {
  Call c;
  c.t = t;
  c.user = user;
  c.arn = std::string("arn:aws:iam::") + SyntheticAccount::kAccount + ":user/" + user;
  c.ip = ip;
  c.ua = ua;
  c.key = key;
  return c;
}

Call Named(Call c, const char* source, const char* name, std::string params = {}) {
  c.source = source;
  c.name = name;
  c.params = std::move(params);
  return c;
}

}  // namespace

enrich::CloudIdentityOptions SyntheticOptions() {
  enrich::CloudIdentityOptions o;
  o.corporate.Add(*Cidr::Parse("198.51.100.0/24"));
  o.aws.Add(*Cidr::Parse("3.80.0.0/12"));
  return o;
}

std::unique_ptr<SyntheticAccount> GenerateAccount(int days, bool with_attack, uint64_t seed,
                                                  Micros start) {
  auto out = std::make_unique<SyntheticAccount>();
  out->start = start;
  Builder bld(*out);
  Rng rng{seed};
  auto at = [&](int day, int h, int m, int s = 0) {
    return start + day * kMicrosPerDay + h * kMicrosPerHour + m * kMicrosPerMinute +
           s * kMicrosPerSecond;
  };
  for (int day = 0; day < days; ++day) {
    bool weekday = day % 7 < 5;  // day 0 is a Monday
    char key[32];
    // ci-deploy: every night.
    {
      Call base;
      base.type = "AssumedRole";
      char session[64];
      std::snprintf(session, sizeof session, "botocore-session-%d", 1704067200 + day * 86400);
      base.arn = std::string("arn:aws:sts::") + SyntheticAccount::kAccount + ":assumed-role/ci-deploy/" + session;
      base.issuer = SyntheticAccount::kCiRole;
      std::snprintf(key, sizeof key, "ASIACI%014d", day);
      base.key = key;
      base.ip = "3.85.10.20";
      base.ua = kCiUa;
      int n = rng.Between(8, 12);
      for (int i = 0; i < n; ++i) {
        base.t = at(day, 2, 0, i * 7);
        bld.Add(Named(base, i % 2 ? "ec2.amazonaws.com" : "s3.amazonaws.com",
                      i % 2 ? "DescribeInstances" : "ListBuckets"));
      }
      base.t = at(day, 2, 2);
      bld.Add(Named(base, "ec2.amazonaws.com", "RunInstances",
                    R"({"instanceType":"t3.medium","minCount":1,"maxCount":1,"imageId":"ami-0abcdef1234567890"})"));
      for (int i = 0; i < 20; ++i) {
        base.t = at(day, 2, 3, i * 5);
        bld.Add(Named(base, "s3.amazonaws.com", "GetObject",
                      R"({"bucketName":"ci-artifacts","key":"build/app.tar.gz"})"));
      }
    }
    if (!weekday) continue;
    // admin-ann: console from the office.
    {
      std::snprintf(key, sizeof key, "ASIAANN%013d", day);
      int login_min = rng.Between(0, 30);
      Call login = User(at(day, 9, login_min), "admin-ann", "198.51.100.10", kBrowserUa, "");
      login.login = "Success";
      bld.Add(Named(login, "signin.amazonaws.com", "ConsoleLogin"));
      Call c = User(0, "admin-ann", "198.51.100.10", kConsoleUa, key);
      int n = rng.Between(15, 30);
      for (int i = 0; i < n; ++i) {
        c.t = at(day, 9, login_min + 5) + rng.Between(0, 8 * 3600) * kMicrosPerSecond;
        const Read& r = kAdminReads[rng.Next() % std::size(kAdminReads)];
        bld.Add(Named(c, r.source, r.name));
      }
      if (day == 9) {
        c.t = at(day, 11, 0);
        bld.Add(Named(c, "iam.amazonaws.com", "CreateUser", R"({"userName":"new-hire-1"})"));
        c.t = at(day, 11, 2);
        bld.Add(Named(c, "iam.amazonaws.com", "AttachUserPolicy",
                      R"({"userName":"new-hire-1","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"})"));
      }
      if (day == 10) {
        c.t = at(day, 14, 0);
        bld.Add(Named(c, "iam.amazonaws.com", "UpdateLoginProfile",
                      R"({"userName":"new-hire-1","passwordResetRequired":true})"));
      }
      if (day == 23) {
        c.t = at(day, 11, 30);
        bld.Add(Named(c, "iam.amazonaws.com", "AttachUserPolicy",
                      R"({"userName":"new-hire-1","policyArn":"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})"));
      }
    }
    // dev-bob: console only; office Mon-Wed, home Thu-Fri.
    {
      const char* ip = day % 7 < 3 ? "198.51.100.21" : "203.0.113.50";
      std::snprintf(key, sizeof key, "ASIABOB%013d", day);
      int login_min = rng.Between(20, 50);
      Call login = User(at(day, 9, login_min), "dev-bob", ip, kBrowserUa, "");
      login.login = "Success";
      bld.Add(Named(login, "signin.amazonaws.com", "ConsoleLogin"));
      Call c = User(0, "dev-bob", ip, kConsoleUa, key);
      int n = rng.Between(10, 25);
      for (int i = 0; i < n; ++i) {
        c.t = at(day, 10, 0) + rng.Between(0, 7 * 3600) * kMicrosPerSecond;
        const Read& r = kDevReads[rng.Next() % std::size(kDevReads)];
        bld.Add(Named(c, r.source, r.name));
      }
    }
    // dev-cara: the CLI from the office, a read burst on Wednesdays.
    {
      Call c = User(0, "dev-cara", "198.51.100.22", kCaraCli, "AKIACARA0000001");
      int n = rng.Between(20, 40);
      for (int i = 0; i < n; ++i) {
        c.t = at(day, 9, 0) + rng.Between(0, 8 * 3600) * kMicrosPerSecond;
        const Read& r = kDevReads[rng.Next() % std::size(kDevReads)];
        bld.Add(Named(c, r.source, r.name));
      }
      if (day % 7 == 2) {
        for (int i = 0; i < 35; ++i) {
          c.t = at(day, 15, 0, i * 8);
          const Read& r = kDevReads[static_cast<size_t>(i) % std::size(kDevReads)];
          bld.Add(Named(c, r.source, r.name));
        }
      }
    }
  }

  if (with_attack) {
    int day = days;  // the Monday after a whole number of weeks, or whatever day follows
    out->attack_start = at(day, 10, 0);
    const char* ip = SyntheticAccount::kAttackerIp;
    auto step = [&](const char* model, Micros b, Micros e) { out->steps.push_back({model, b, e}); };
    // 1. Console login from a new source.
    Call login = User(at(day, 10, 0), "dev-bob", ip, kBrowserUa, "");
    login.login = "Success";
    bld.Add(Named(login, "signin.amazonaws.com", "ConsoleLogin"));
    Call con = User(0, "dev-bob", ip, kConsoleUa, "ASIABOBATTACK000001");
    for (int i = 0; i < 3; ++i) {
      con.t = at(day, 10, 1, i * 20);
      bld.Add(Named(con, "iam.amazonaws.com", "ListAccessKeys", R"({"userName":"dev-bob"})"));
    }
    step("cloud/unusual-credential-source", at(day, 10, 0), at(day, 10, 0));
    // 2. Switch to the CLI with a new long-term key.
    Call cli = User(at(day, 10, 5), "dev-bob", ip, kAttackCli, "AKIABOBNEW000001");
    bld.Add(Named(cli, "sts.amazonaws.com", "GetCallerIdentity"));
    step("cloud/unusual-cli-activity", at(day, 10, 5), at(day, 10, 5));
    // 3. Reset the administrator's password.
    cli.t = at(day, 10, 10);
    bld.Add(Named(cli, "iam.amazonaws.com", "UpdateLoginProfile",
                  R"({"userName":"admin-ann","passwordResetRequired":false})"));
    step("cloud/rare-password-reset", at(day, 10, 10), at(day, 10, 10));
    // 4. Discovery burst: 150 reads over 16 services, 30 of them denied.
    for (int i = 0; i < 150; ++i) {
      cli.t = at(day, 10, 20) + i * 2 * kMicrosPerSecond;
      Call c = cli;
      if (i % 5 == 0) c.error = "AccessDenied";
      const Read& r = kRecon[static_cast<size_t>(i) % std::size(kRecon)];
      bld.Add(Named(c, r.source, r.name));
    }
    step("cloud/discovery-burst", at(day, 10, 20), at(day, 10, 20) + 298 * kMicrosPerSecond);
    // 5. Administrator rights for itself.
    cli.t = at(day, 10, 35);
    bld.Add(Named(cli, "iam.amazonaws.com", "AttachUserPolicy",
                  R"({"userName":"dev-bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
    step("cloud/iam-privilege-change", at(day, 10, 35), at(day, 10, 35));
    // 6. GPU instances in a region the account never used.
    cli.t = at(day, 10, 45);
    cli.region = "eu-north-1";
    bld.Add(Named(cli, "ec2.amazonaws.com", "RunInstances",
                  R"({"instanceType":"p3.16xlarge","minCount":4,"maxCount":4,"imageId":"ami-0123456789abcdef0"})"));
    cli.region = "us-east-1";
    step("cloud/unusual-compute-creation", at(day, 10, 45), at(day, 10, 45));
    // 7. Open the data bucket to the world, then empty it.
    cli.t = at(day, 10, 55);
    bld.Add(Named(cli, "s3.amazonaws.com", "PutBucketPolicy",
                  R"({"bucketName":"corp-data","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::corp-data/*"}]}})"));
    for (int i = 0; i < 40; ++i) {
      cli.t = at(day, 11, 0) + i * 3 * kMicrosPerSecond;
      bld.Add(Named(cli, "s3.amazonaws.com", "DeleteObjects", R"({"bucketName":"corp-data","delete":{"objects":[{"key":"x"}]}})"));
    }
    step("cloud/s3-tampering", at(day, 10, 55), at(day, 11, 0) + 117 * kMicrosPerSecond);
  }
  bld.Finish();
  return out;
}

std::string ToCloudTrailJsonl(const SyntheticAccount& account) {
  std::string out;
  for (const Event& e : account.events) {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr) continue;
    auto str = [](std::string_view v) { return std::string(v); };
    nlohmann::json id = {{"type", str(b->identity_type)}, {"accountId", SyntheticAccount::kAccount}};
    if (!b->principal_arn.empty()) id["arn"] = str(b->principal_arn);
    if (!b->user_name.empty()) id["userName"] = str(b->user_name);
    if (!b->access_key_id.empty()) id["accessKeyId"] = str(b->access_key_id);
    if (!b->session_issuer_arn.empty())
      id["sessionContext"] = {{"sessionIssuer", {{"type", "Role"}, {"arn", str(b->session_issuer_arn)}}},
                              {"attributes", {{"mfaAuthenticated", "false"}}}};
    nlohmann::json r = {{"eventVersion", "1.08"},
                        {"userIdentity", id},
                        {"eventTime", FormatRfc3339(e.time)},
                        {"eventSource", str(b->event_source)},
                        {"eventName", str(b->event_name)},
                        {"awsRegion", str(b->region)},
                        {"sourceIPAddress", str(b->source_ip)},
                        {"userAgent", str(b->user_agent)},
                        {"eventID", str(b->event_id)},
                        {"readOnly", b->read_only},
                        {"eventType", str(b->event_type)},
                        {"recipientAccountId", str(b->account_id)}};
    r["requestParameters"] = b->request_parameters.empty()
                                 ? nlohmann::json(nullptr)
                                 : nlohmann::json::parse(b->request_parameters, nullptr, false);
    if (!b->console_login_result.empty())
      r["responseElements"] = {{"ConsoleLogin", str(b->console_login_result)}};
    else
      r["responseElements"] = nullptr;
    if (!b->error_code.empty()) r["errorCode"] = str(b->error_code);
    out += r.dump();
    out += '\n';
  }
  return out;
}

}  // namespace vigil::detect::cloud

#include "enrich/cloud_identity.h"

#include "core/hash.h"

#include <maxminddb.h>

#include <cctype>
#include <cstdio>
#include <cstring>


namespace vigil::enrich {
namespace {

// Source keys are stored in model checkpoints: core/hash.h gives stable hashes.
using ::vigil::HashBytes;
using ::vigil::MixHash;

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool Contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

bool IsServiceName(std::string_view s) {
  return s == "AWS Internal" || EndsWith(s, ".amazonaws.com") || EndsWith(s, ".amazonaws.com.cn");
}

// The part after the last '/' of an ARN ("alice" in ...:user/alice).
std::string_view ArnLeaf(std::string_view arn) {
  size_t slash = arn.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : arn.substr(slash + 1);
}

// "ROLE/SESSION" from arn:aws:sts::A:assumed-role/ROLE/SESSION.
std::string_view AssumedRoleName(std::string_view arn) {
  size_t p = arn.find(":assumed-role/");
  return p == std::string_view::npos ? std::string_view{} : arn.substr(p + 14);
}

uint64_t PrefixKey(const IpAddr& a, int v4_bits, int v6_bits) {
  auto b = a.bytes();
  int bits = a.is_v4() ? 96 + v4_bits : v6_bits;
  for (int i = 0; i < 16; ++i) {
    int keep = std::min(8, std::max(0, bits - i * 8));
    b[i] = static_cast<uint8_t>(b[i] & (keep == 0 ? 0 : (0xFF << (8 - keep)) & 0xFF));
  }
  return MixHash(HashBytes(b.data(), b.size()), static_cast<uint64_t>(bits));
}

}  // namespace

CloudUaFamily ClassifyUserAgent(std::string_view ua) {
  if (ua.empty()) return CloudUaFamily::kUnknown;
  if (ua.front() == '[') ua.remove_prefix(1);
  if (StartsWith(ua, "aws-cli/") || Contains(ua, " aws-cli/")) return CloudUaFamily::kAwsCli;
  if (Contains(ua, "Terraform/") || Contains(ua, "HashiCorp")) return CloudUaFamily::kTerraform;
  if (StartsWith(ua, "console.") || StartsWith(ua, "signin.amazonaws.com") ||
      StartsWith(ua, "AWS Internal") || StartsWith(ua, "EC2ConsoleFrontend") ||
      Contains(ua, "ConsoleFrontend") || StartsWith(ua, "Mozilla/"))
    return CloudUaFamily::kConsole;
  if (StartsWith(ua, "Boto3/") || StartsWith(ua, "boto3/") || StartsWith(ua, "Botocore/") ||
      StartsWith(ua, "botocore/"))
    return CloudUaFamily::kBoto;
  if (StartsWith(ua, "aws-sdk-") || Contains(ua, " aws-sdk-") || StartsWith(ua, "AWS-SDK") ||
      StartsWith(ua, "aws-go-sdk") || StartsWith(ua, "aws-internal/"))
    return CloudUaFamily::kSdk;
  if (IsServiceName(ua)) return CloudUaFamily::kAwsService;
  return CloudUaFamily::kUnknown;
}

bool IsGeneratedSessionName(std::string_view s) {
  if (StartsWith(s, "botocore-session-") || StartsWith(s, "aws-go-sdk-") ||
      StartsWith(s, "aws-sdk-java-") || StartsWith(s, "aws-sdk-js-") ||
      StartsWith(s, "AWSCLI-Session") || StartsWith(s, "aws-cli-"))
    return true;
  // An EC2 instance id (the session name of instance-profile credentials) names a machine.
  if (StartsWith(s, "i-") && s.size() <= 19 &&
      s.find_first_not_of("0123456789abcdef", 2) == std::string_view::npos)
    return false;
  size_t digits = 0, hex = 0;
  for (char c : s) {
    bool d = c >= '0' && c <= '9';
    bool h = d || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    digits = d ? digits + 1 : 0;
    hex = h ? hex + 1 : 0;
    if (digits >= 9 || hex >= 16) return true;
  }
  return false;
}

std::string SourcePrefixText(std::string_view ip) {
  auto a = IpAddr::Parse(ip);
  if (!a) return {};
  auto b = a->bytes();
  if (a->is_v4()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.0/24", b[12], b[13], b[14]);
    return buf;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%x:%x:%x::/48", (b[0] << 8) | b[1], (b[2] << 8) | b[3],
                (b[4] << 8) | b[5]);
  return buf;
}

CloudIdentityOptions CloudIdentityOptionsFromConfig(const config::Config& cfg) {
  CloudIdentityOptions o;
  o.corporate = cfg.internal_networks();
  for (const auto& s : cfg.GetStrings("cloud.corporate_networks"))
    if (auto c = Cidr::Parse(s)) o.corporate.Add(*c);
  for (const auto& s : cfg.GetStrings("cloud.aws_networks"))
    if (auto c = Cidr::Parse(s)) o.aws.Add(*c);
  o.geoip_db = cfg.GetString("cloud.geoip_db");
  o.asn_db = cfg.GetString("cloud.asn_db");
  return o;
}

struct CloudIdentityStep::Mmdb {
  MMDB_s db{};
  bool open = false;
  explicit Mmdb(const std::string& path) {
    if (!path.empty()) open = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db) == MMDB_SUCCESS;
  }
  ~Mmdb() {
    if (open) MMDB_close(&db);
  }
  // Looks `ip` up; false when absent. `ip` need not be NUL-terminated.
  bool Lookup(std::string_view ip, MMDB_lookup_result_s& out) {
    if (!open || ip.size() >= 64) return false;
    char buf[64];
    std::memcpy(buf, ip.data(), ip.size());
    buf[ip.size()] = '\0';
    int gai = 0, err = 0;
    out = MMDB_lookup_string(&db, buf, &gai, &err);
    return gai == 0 && err == MMDB_SUCCESS && out.found_entry;
  }
};

CloudIdentityStep::CloudIdentityStep(CloudIdentityOptions opts) : opts_(std::move(opts)) {
  geo_ = std::make_unique<Mmdb>(opts_.geoip_db);
  asn_ = std::make_unique<Mmdb>(opts_.asn_db);
}
CloudIdentityStep::~CloudIdentityStep() = default;

bool CloudIdentityStep::geoip_open() const { return geo_ && geo_->open; }
bool CloudIdentityStep::asn_open() const { return asn_ && asn_->open; }

const CloudIdentityStep::Owner* CloudIdentityStep::FindKey(std::string_view key) const {
  if (auto it = keys_.find(absl::string_view(key.data(), key.size())); it != keys_.end())
    return &it->second;
  if (auto it = old_keys_.find(absl::string_view(key.data(), key.size())); it != old_keys_.end())
    return &it->second;
  return nullptr;
}

void CloudIdentityStep::RememberKey(std::string_view key, std::string_view id,
                                    std::string_view name) {
  if (key.empty() || id.empty()) return;
  if (const Owner* o = FindKey(key); o != nullptr && o->id == id) return;
  if (keys_.size() >= opts_.max_keys) {
    old_keys_ = std::move(keys_);  // node map: the owners' strings do not move
    keys_ = {};
  }
  Owner& o = keys_[std::string(key)];
  o.id.assign(id);
  o.name.assign(name);
}

void CloudIdentityStep::Enrich(Event& e) {
  auto* b = std::get_if<CloudApiBody>(&e.body);
  if (b == nullptr) return;

  // Who.
  std::string_view type = b->identity_type;
  std::string_view id, name;
  b->not_a_person = type == "AWSService" ||
                    (!b->invoked_by.empty() && b->invoked_by != "signin.amazonaws.com" &&
                     b->invoked_by != "AWS Internal") ||
                    Contains(b->principal_arn, "/AWSServiceRoleFor") ||
                    Contains(b->session_issuer_arn, "/aws-service-role/") ||
                    Contains(b->session_issuer_arn, "/AWSServiceRoleFor");
  if (type == "AWSService") {
    id = !b->invoked_by.empty() ? b->invoked_by : b->source_ip;
    name = id;
  } else if (type == "AssumedRole" || Contains(b->principal_arn, ":assumed-role/")) {
    std::string_view session = ArnLeaf(b->principal_arn);
    b->session_name = session;
    if (!b->session_issuer_arn.empty() && (session.empty() || IsGeneratedSessionName(session))) {
      id = b->session_issuer_arn;
      name = ArnLeaf(b->session_issuer_arn);
    } else {
      id = b->principal_arn;
      name = AssumedRoleName(b->principal_arn);
    }
  } else if (type == "Root") {
    id = b->principal_arn;
    name = "root";
  } else {
    id = !b->principal_arn.empty() ? b->principal_arn : b->principal_id;
    name = !b->user_name.empty() ? b->user_name : ArnLeaf(id);
  }
  if (id.empty() && !b->access_key_id.empty()) {
    if (const Owner* o = FindKey(b->access_key_id)) {
      id = o->id;
      name = o->name;
    }
  } else if (!id.empty() && !b->access_key_id.empty() && !b->not_a_person) {
    RememberKey(b->access_key_id, id, name);
  }
  if (id.empty()) id = !b->user_name.empty() ? b->user_name : b->access_key_id;
  if (!id.empty()) e.entity = {EntityType::kIdentity, id, name};
  b->identity_key = HashValue(e.entity.id);

  // From where.
  b->ua_family = ClassifyUserAgent(b->user_agent);
  std::string_view src = b->source_ip;
  if (src.empty()) {
    b->source_class = CloudSourceClass::kUnknown;
    return;
  }
  std::optional<IpAddr> ip = IpAddr::Parse(src);
  if (!ip) {
    b->source_class = IsServiceName(src) ? CloudSourceClass::kAwsInternal : CloudSourceClass::kUnknown;
    b->source_key = b->source_region_key = HashValue(src);
    e.peer = {EntityType::kExternal, src, {}};
    if (b->ua_family == CloudUaFamily::kUnknown && IsServiceName(src))
      b->ua_family = CloudUaFamily::kAwsService;
    return;
  }
  if (opts_.aws.Contains(*ip)) {
    b->source_class = CloudSourceClass::kAwsInternal;
  } else if (opts_.corporate.Contains(*ip)) {
    b->source_class = CloudSourceClass::kCorporate;
  } else {
    b->source_class = CloudSourceClass::kExternal;
  }
  e.peer = {b->source_class == CloudSourceClass::kCorporate ? EntityType::kDevice
                                                            : EntityType::kExternal,
            src, {}};
  b->source_key = PrefixKey(*ip, 24, 48);
  b->source_region_key = PrefixKey(*ip, 16, 32);
  MMDB_lookup_result_s res{};
  if (asn_->Lookup(src, res)) {
    MMDB_entry_data_s d{};
    if (MMDB_get_value(&res.entry, &d, "autonomous_system_number", nullptr) == MMDB_SUCCESS &&
        d.has_data && d.type == MMDB_DATA_TYPE_UINT32) {
      b->asn = d.uint32;
      b->source_key = MixHash(0xA5A5, b->asn);
    }
  }
  if (geo_->Lookup(src, res)) {
    MMDB_entry_data_s d{};
    if (MMDB_get_value(&res.entry, &d, "country", "iso_code", nullptr) == MMDB_SUCCESS &&
        d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING) {
      b->country = std::string_view(d.utf8_string, d.data_size);  // inside the mmap'd db
      b->source_region_key = MixHash(0xC0C0, HashValue(b->country));
    }
  }
}

void CloudIdentityStep::Save(learn::StateWriter& w) const {
  w.U64(keys_.size() + old_keys_.size());
  for (const auto* m : {&old_keys_, &keys_}) {
    for (const auto& [k, o] : *m) {
      w.Str(k);
      w.Str(o.id);
      w.Str(o.name);
    }
  }
}

void CloudIdentityStep::Load(learn::StateReader& r) {
  uint64_t n = r.Count(2 * opts_.max_keys + 2);
  keys_.clear();
  old_keys_.clear();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string k = r.Str();
    std::string id = r.Str();
    std::string name = r.Str();
    if (r.ok()) RememberKey(k, id, name);
  }
}

VIGIL_REGISTER_ENRICH_STEP([](const config::Config& cfg) -> std::unique_ptr<EnrichStep> {
  return std::make_unique<CloudIdentityStep>(CloudIdentityOptionsFromConfig(cfg));
});

}  // namespace vigil::enrich

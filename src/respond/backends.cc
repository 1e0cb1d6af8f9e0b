#include "respond/backends.h"

#include <chrono>

#include "core/curl_api.h"
#include "respond/subprocess.h"

namespace vigil::respond {

namespace {

using json = nlohmann::json;

size_t CollectBody(char* p, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t len = size * n;
  if (out->size() < kMaxHttpResponseBytes)
    out->append(p, std::min(len, kMaxHttpResponseBytes - out->size()));
  return len;
}

std::string Snippet(const std::string& s, size_t n = 300) {
  std::string out = s.substr(0, n);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "20150830T123600Z" from a time.
std::string AmzDate(Micros t) {
  std::string s = FormatRfc3339(t - t % kMicrosPerSecond);  // 2015-08-30T12:36:00Z
  std::string out;
  for (char c : s)
    if (c != '-' && c != ':') out += c;
  return out;
}

bool AllOf(std::string_view s, size_t min, size_t max, bool (*ok)(char)) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s)
    if (!ok(c)) return false;
  return true;
}

// ---------------------------------------------------------------- Defender
class DefenderBackend : public Backend {
 public:
  explicit DefenderBackend(DefenderOptions o) : o_(std::move(o)) {
    while (!o_.url.empty() && o_.url.back() == '/') o_.url.pop_back();
  }
  std::string_view name() const override { return "defender"; }
  bool Supports(std::string_view kind) const override { return kind == kIsolateEndpoint; }
  Result<std::string> Apply(const Action& a, Micros hold) override {
    (void)hold;  // Defender isolation has no timeout of its own: Vigil releases it on expiry.
    return Call(a, "isolate",
                {{"Comment", Comment(a, "isolated")}, {"IsolationType", o_.isolation_type}});
  }
  Result<std::string> Revoke(const Action& a) override {
    return Call(a, "unisolate", {{"Comment", Comment(a, "released")}});
  }

 private:
  static std::string Comment(const Action& a, const char* what) {
    std::string why = a.reasons.empty() ? std::string() : a.reasons[0].text;
    return "Vigil " + std::string(what) + " this machine (" + a.id + "): " + why.substr(0, 200);
  }
  Result<std::string> Call(const Action& a, const char* op, const json& body) {
    const std::string& id = a.target.edr_device;
    if (!IsDefenderMachineId(id))
      return InvalidArgument("the Defender machine id is not 40 hex digits");
    std::vector<std::string> headers = {"Content-Type: application/json",
                                        "Authorization: Bearer " + o_.token};
    auto r = HttpPost(o_.url + "/api/machines/" + id + "/" + op, headers, body.dump(), o_.timeout);
    if (!r.ok()) return r.status();
    if (r->status < 200 || r->status >= 300)
      return Unavailable("Defender " + std::string(op) + " answered HTTP " +
                         std::to_string(r->status) + ": " + Snippet(r->body));
    std::string detail = "Defender " + std::string(op) + " accepted";
    auto j = json::parse(r->body, nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_string())
      detail += " (machine action " + j["id"].get<std::string>() + ")";
    return detail;
  }
  DefenderOptions o_;
};

// ---------------------------------------------------------------- AWS IAM
class AwsBackend : public Backend {
 public:
  explicit AwsBackend(AwsOptions o) : o_(std::move(o)) {
    if (!o_.clock) o_.clock = WallNow;
    std::string rest = o_.endpoint;
    size_t scheme = rest.find("://");
    if (scheme != std::string::npos) rest = rest.substr(scheme + 3);
    size_t slash = rest.find('/');
    host_ = rest.substr(0, slash);
    if (o_.endpoint.find('/', scheme == std::string::npos ? 0 : scheme + 3) == std::string::npos)
      o_.endpoint += "/";
  }
  std::string_view name() const override { return "aws"; }
  bool Supports(std::string_view kind) const override { return kind == kDisableCloudCredential; }

  Result<std::string> Apply(const Action& a, Micros hold) override {
    (void)hold;  // IAM has no expiring deny: Vigil undoes it on expiry.
    auto who = IamPrincipalFromArn(a.target.identity);
    if (!who.ok()) return who.status();
    std::vector<std::string> done;
    if (who->first == "user") {
      if (!a.target.access_key.empty()) {
        VIGIL_RETURN_IF_ERROR(CheckKey(a.target.access_key));
        VIGIL_RETURN_IF_ERROR(Call({{"Action", "UpdateAccessKey"},
                                    {"AccessKeyId", a.target.access_key},
                                    {"Status", "Inactive"},
                                    {"UserName", who->second}}));
        done.push_back("access key " + a.target.access_key + " set Inactive");
      }
      VIGIL_RETURN_IF_ERROR(Call({{"Action", "PutUserPolicy"},
                                  {"PolicyDocument", DenyAllPolicy()},
                                  {"PolicyName", o_.policy_name},
                                  {"UserName", who->second}}));
      done.push_back("deny-all policy " + o_.policy_name + " on user " + who->second);
    } else {
      VIGIL_RETURN_IF_ERROR(Call({{"Action", "PutRolePolicy"},
                                  {"PolicyDocument", RevokeSessionsPolicy(o_.clock())},
                                  {"PolicyName", o_.policy_name},
                                  {"RoleName", who->second}}));
      done.push_back("sessions of role " + who->second + " revoked (" + o_.policy_name + ")");
    }
    std::string s;
    for (const auto& d : done) s += (s.empty() ? "" : "; ") + d;
    return s;
  }

  Result<std::string> Revoke(const Action& a) override {
    auto who = IamPrincipalFromArn(a.target.identity);
    if (!who.ok()) return who.status();
    if (who->first == "user") {
      VIGIL_RETURN_IF_ERROR(Call({{"Action", "DeleteUserPolicy"},
                                  {"PolicyName", o_.policy_name},
                                  {"UserName", who->second}},
                                 /*missing_ok=*/true));
      if (!a.target.access_key.empty()) {
        VIGIL_RETURN_IF_ERROR(CheckKey(a.target.access_key));
        VIGIL_RETURN_IF_ERROR(Call({{"Action", "UpdateAccessKey"},
                                    {"AccessKeyId", a.target.access_key},
                                    {"Status", "Active"},
                                    {"UserName", who->second}}));
      }
      return "deny-all policy removed from user " + who->second +
             (a.target.access_key.empty() ? "" : ", access key active again");
    }
    VIGIL_RETURN_IF_ERROR(Call({{"Action", "DeleteRolePolicy"},
                                {"PolicyName", o_.policy_name},
                                {"RoleName", who->second}},
                               /*missing_ok=*/true));
    return "session revocation removed from role " + who->second;
  }

 private:
  static Status CheckKey(const std::string& k) {
    if (!AllOf(k, 16, 128, [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }))
      return InvalidArgument("the access key id is not [A-Z0-9]{16,128}");
    return Status::Ok();
  }

  Status Call(std::map<std::string, std::string> params, bool missing_ok = false) {
    params["Version"] = "2010-05-08";
    std::string body;
    for (const auto& [k, v] : params) body += (body.empty() ? "" : "&") + UriEncode(k) + "=" + UriEncode(v);
    SigV4Request req;
    req.method = "POST";
    req.path = "/";
    req.payload = body;
    std::string amz_date = AmzDate(o_.clock());
    req.headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8";
    req.headers["host"] = host_;
    req.headers["x-amz-date"] = amz_date;
    if (!o_.credentials.session_token.empty())
      req.headers["x-amz-security-token"] = o_.credentials.session_token;
    std::vector<std::string> headers;
    for (const auto& [k, v] : req.headers) headers.push_back(k + ": " + v);
    headers.push_back("Authorization: " +
                      SigV4Authorization(req, o_.credentials, amz_date, o_.region, "iam"));
    auto r = HttpPost(o_.endpoint, headers, body, o_.timeout);
    if (!r.ok()) return r.status();
    if (r->status >= 200 && r->status < 300) return Status::Ok();
    if (missing_ok && r->body.find("NoSuchEntity") != std::string::npos) return Status::Ok();
    return Unavailable("IAM " + params["Action"] + " answered HTTP " + std::to_string(r->status) +
                       ": " + Snippet(r->body));
  }

  AwsOptions o_;
  std::string host_;
};

// ---------------------------------------------------------------- webhook
class WebhookBackend : public Backend {
 public:
  explicit WebhookBackend(WebhookOptions o) : o_(std::move(o)) {}
  std::string_view name() const override { return "webhook"; }
  bool Supports(std::string_view kind) const override { return IsActionKind(kind); }
  Result<std::string> Apply(const Action& a, Micros hold) override { return Post(a, "apply", hold); }
  Result<std::string> Revoke(const Action& a) override { return Post(a, "revoke", 0); }

 private:
  Result<std::string> Post(const Action& a, const char* event, Micros hold) {
    json body = {{"event", event}, {"hold_seconds", hold / kMicrosPerSecond}, {"action", ActionToJson(a)}};
    std::vector<std::string> headers = o_.headers;
    headers.push_back("Content-Type: application/json");
    auto r = HttpPost(o_.url, headers, body.dump(), o_.timeout);
    if (!r.ok()) return r.status();
    if (r->status < 200 || r->status >= 300)
      return Unavailable("webhook answered HTTP " + std::to_string(r->status) + ": " + Snippet(r->body));
    return "webhook " + std::string(event) + " accepted (HTTP " + std::to_string(r->status) + ")";
  }
  WebhookOptions o_;
};

// ---------------------------------------------------------------- exec
class ExecBackend : public Backend {
 public:
  explicit ExecBackend(ExecOptions o) : o_(std::move(o)) {}
  std::string_view name() const override { return "exec"; }
  bool Supports(std::string_view kind) const override { return IsActionKind(kind); }
  Result<std::string> Apply(const Action& a, Micros hold) override { return Run(a, "apply", hold); }
  Result<std::string> Revoke(const Action& a) override { return Run(a, "revoke", 0); }

 private:
  Result<std::string> Run(const Action& a, const char* event, Micros hold) {
    auto r = RunProcess(ExecArgv(o_.argv, a, event, hold), "", o_.timeout);
    if (!r.ok()) return r.status();
    if (r->timed_out) return Unavailable("exec hook timed out");
    if (r->exit_code != 0)
      return Unavailable("exec hook exited with " + std::to_string(r->exit_code) + ": " +
                         Snippet(r->err));
    return "exec hook " + std::string(event) + " ok" + (r->out.empty() ? "" : ": " + Snippet(r->out, 400));
  }
  ExecOptions o_;
};

}  // namespace

Result<HttpResponse> HttpPost(const std::string& url, const std::vector<std::string>& headers,
                              const std::string& body, Micros timeout) {
  auto lib = Curl();
  if (!lib.ok()) return lib.status();
  const CurlApi& curl = **lib;
  CURL* c = curl.easy_init();
  if (!c) return Internal("curl_easy_init failed");
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl.slist_append(list, h.c_str());
  HttpResponse resp;
  curl.SetText<CURLOPT_URL>(c, url.c_str());
  curl.SetLong<CURLOPT_POST>(c, 1L);
  curl.SetText<CURLOPT_POSTFIELDS>(c, body.data());
  curl.SetOffset<CURLOPT_POSTFIELDSIZE_LARGE>(c, static_cast<curl_off_t>(body.size()));
  curl.SetList<CURLOPT_HTTPHEADER>(c, list);
  curl.SetCallback<CURLOPT_WRITEFUNCTION>(c, CollectBody);
  curl.SetData<CURLOPT_WRITEDATA>(c, &resp.body);
  curl.SetLong<CURLOPT_TIMEOUT_MS>(c, static_cast<long>(timeout / 1000));
  curl.SetLong<CURLOPT_NOSIGNAL>(c, 1L);
  curl.SetText<CURLOPT_PROTOCOLS_STR>(c, "http,https");
  CURLcode rc = curl.easy_perform(c);
  if (rc == CURLE_OK) curl.GetLong<CURLINFO_RESPONSE_CODE>(c, &resp.status);
  curl.slist_free_all(list);
  curl.easy_cleanup(c);
  if (rc != CURLE_OK) return Unavailable(std::string("POST failed: ") + curl.easy_strerror(rc));
  return resp;
}

bool IsDefenderMachineId(std::string_view id) {
  return AllOf(id, 40, 40, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

Result<std::pair<std::string, std::string>> IamPrincipalFromArn(std::string_view arn) {
  // arn:aws:iam::123456789012:user/path/alice, arn:aws:iam::...:role/Admin,
  // arn:aws:sts::123456789012:assumed-role/Admin/session-name
  size_t colon = 0;
  for (int i = 0; i < 5 && colon != std::string_view::npos; ++i) colon = arn.find(':', colon + (i ? 1 : 0));
  if (arn.substr(0, 4) != "arn:" || colon == std::string_view::npos)
    return InvalidArgument("the identity is not an IAM ARN");
  std::string_view res = arn.substr(colon + 1);
  std::string type, name;
  auto last = [](std::string_view s) { return s.substr(s.rfind('/') + 1); };
  if (res.substr(0, 5) == "user/") {
    type = "user";
    name = std::string(last(res));
  } else if (res.substr(0, 5) == "role/") {
    type = "role";
    name = std::string(last(res));
  } else if (res.substr(0, 13) == "assumed-role/") {
    type = "role";
    std::string_view rest = res.substr(13);
    name = std::string(rest.substr(0, rest.find('/')));
  } else {
    return InvalidArgument("the identity is neither an IAM user nor a role");
  }
  if (!AllOf(name, 1, 64, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '_' || c == '-';
      }))
    return InvalidArgument("the IAM name is outside [A-Za-z0-9+=,.@_-]{1,64}");
  return std::make_pair(type, name);
}

std::string DenyAllPolicy() {
  return json{{"Version", "2012-10-17"},
              {"Statement", json::array({{{"Sid", "VigilDenyAll"},
                                          {"Effect", "Deny"},
                                          {"Action", "*"},
                                          {"Resource", "*"}}})}}
      .dump();
}

std::string RevokeSessionsPolicy(Micros issued_before) {
  std::string t = FormatRfc3339(issued_before - issued_before % kMicrosPerSecond);
  return json{{"Version", "2012-10-17"},
              {"Statement",
               json::array({{{"Sid", "VigilRevokeOlderSessions"},
                             {"Effect", "Deny"},
                             {"Action", "*"},
                             {"Resource", "*"},
                             {"Condition", {{"DateLessThan", {{"aws:TokenIssueTime", t}}}}}}})}}
      .dump();
}

std::vector<std::string> ExecArgv(const std::vector<std::string>& templ, const Action& a,
                                  std::string_view event, Micros hold) {
  std::vector<std::string> out;
  out.reserve(templ.size());
  for (const auto& arg : templ) {
    if (arg == "{event}") out.emplace_back(event);
    else if (arg == "{id}") out.push_back(a.id);
    else if (arg == "{kind}") out.push_back(a.kind);
    else if (arg == "{device}") out.push_back(a.target.device);
    else if (arg == "{peer}") out.push_back(a.target.peer);
    else if (arg == "{port}") out.push_back(std::to_string(a.target.port));
    else if (arg == "{protocol}") out.push_back(a.target.protocol);
    else if (arg == "{direction}") out.push_back(a.target.direction);
    else if (arg == "{identity}") out.push_back(a.target.identity);
    else if (arg == "{access_key}") out.push_back(a.target.access_key);
    else if (arg == "{edr_device}") out.push_back(a.target.edr_device);
    else if (arg == "{hold_seconds}") out.push_back(std::to_string(hold / kMicrosPerSecond));
    else if (arg == "{expires}") out.push_back(a.expires ? FormatRfc3339(a.expires) : "");
    else out.push_back(arg);
  }
  return out;
}

std::unique_ptr<Backend> MakeDefenderBackend(DefenderOptions o) {
  return std::make_unique<DefenderBackend>(std::move(o));
}
std::unique_ptr<Backend> MakeAwsBackend(AwsOptions o) { return std::make_unique<AwsBackend>(std::move(o)); }
std::unique_ptr<Backend> MakeWebhookBackend(WebhookOptions o) {
  return std::make_unique<WebhookBackend>(std::move(o));
}
std::unique_ptr<Backend> MakeExecBackend(ExecOptions o) { return std::make_unique<ExecBackend>(std::move(o)); }

}  // namespace vigil::respond

// The HTTP and exec backends: Microsoft Defender for Endpoint machine isolation, AWS IAM
// (deactivate an access key, attach a deny-all policy, revoke sessions), a generic JSON
// webhook, and an exec hook. Each takes its settings as a plain struct so tests can point it
// at a local server; MakeBackends (backend.h) fills them from config.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "respond/backend.h"
#include "respond/sigv4.h"

namespace vigil::respond {

inline constexpr Micros kDefaultHttpTimeout = 15 * kMicrosPerSecond;
inline constexpr size_t kMaxHttpResponseBytes = 256 * 1024;  // response body kept per call

struct HttpResponse {
  long status = 0;
  std::string body;
};
// POSTs `body` to `url` with `headers` ("Name: value") through libcurl. Transport errors
// (refused, timeout) are Unavailable; any HTTP status is returned as is.
Result<HttpResponse> HttpPost(const std::string& url, const std::vector<std::string>& headers,
                              const std::string& body, Micros timeout = kDefaultHttpTimeout);

// --- Defender: POST {url}/api/machines/{id}/isolate {"Comment": ..., "IsolationType": "Full"}
// and /unisolate {"Comment": ...} with "Authorization: Bearer <token>" (token from an
// environment variable). Machine ids are 40 hex digits (validated).
struct DefenderOptions {
  std::string url = "https://api.securitycenter.microsoft.com";
  std::string token;                     // the bearer token itself
  std::string isolation_type = "Full";   // "Full" or "Selective"
  Micros timeout = kDefaultHttpTimeout;
};
std::unique_ptr<Backend> MakeDefenderBackend(DefenderOptions o);
// True for a Defender machine id (40 hex digits).
bool IsDefenderMachineId(std::string_view id);

// --- AWS IAM over the Query API (POST form body, Version=2010-05-08), SigV4-signed.
// disable-cloud-credential on an IAM user: UpdateAccessKey Status=Inactive (when the action
// names an access key) and PutUserPolicy with a deny-all policy; on a role (or an assumed-role
// session): PutRolePolicy with a deny policy conditioned on aws:TokenIssueTime, which revokes
// every session issued before the action. Revoke undoes each (UpdateAccessKey Active,
// DeleteUserPolicy / DeleteRolePolicy).
struct AwsOptions {
  std::string endpoint = "https://iam.amazonaws.com/";
  std::string region = "us-east-1";
  SigV4Credentials credentials;
  std::string policy_name = "vigil-deny-all";
  Micros timeout = kDefaultHttpTimeout;
  // Wall clock for x-amz-date and the session-revocation time; tests pin it.
  std::function<Micros()> clock;
};
std::unique_ptr<Backend> MakeAwsBackend(AwsOptions o);
// The IAM user or role an ARN names: {"user", "alice"} / {"role", "Admin"}; an error for any
// other ARN or a name outside IAM's alphabet [A-Za-z0-9+=,.@_-]{1,64}.
Result<std::pair<std::string, std::string>> IamPrincipalFromArn(std::string_view arn);
// The policy documents, exposed for tests.
std::string DenyAllPolicy();
std::string RevokeSessionsPolicy(Micros issued_before);

// --- Webhook: POST {"event": "apply"|"revoke", "hold_seconds": N, "action": ActionToJson}.
struct WebhookOptions {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  Micros timeout = kDefaultHttpTimeout;
};
std::unique_ptr<Backend> MakeWebhookBackend(WebhookOptions o);

// --- Exec hook: runs argv (no shell). An argument that is exactly one of the placeholders
// {event} {id} {kind} {device} {peer} {port} {protocol} {direction} {identity} {access_key}
// {edr_device} {hold_seconds} {expires} is replaced by that value as one whole argument; no
// other substitution happens, so event data can never split into or inject arguments or be
// parsed by a shell. Exit status 0 is success.
struct ExecOptions {
  std::vector<std::string> argv;
  Micros timeout = 30 * kMicrosPerSecond;
};
std::unique_ptr<Backend> MakeExecBackend(ExecOptions o);
// The substituted argument vector (exposed for tests).
std::vector<std::string> ExecArgv(const std::vector<std::string>& templ, const Action& a,
                                  std::string_view event, Micros hold);

}  // namespace vigil::respond

// GraphPoller: live Microsoft Graph security alerts (GET /v1.0/security/alerts_v2).
//
// One poll (PollOnce):
//   1. gets an app-only token with the OAuth 2.0 client-credentials grant,
//      POST {authority_url}/{tenant_id}/oauth2/v2.0/token
//      (grant_type=client_credentials, client_id, client_secret,
//      scope=https://graph.microsoft.com/.default), reusing it until a minute before expiry;
//   2. GET {graph_url}/v1.0/security/alerts_v2?$filter=lastUpdateDateTime ge {cursor}
//      &$orderby=lastUpdateDateTime asc&$top={page_size}, then every @odata.nextLink;
//   3. decodes each page with AlertsDecoder and hands page bytes and events to the caller.
//
// Failure handling, all without losing pages already delivered:
//   - 429 and 503: waits Retry-After seconds (capped at max_retry_after; 5 s when absent)
//     and retries the same URL, up to max_retries times;
//   - 401: the token is dropped and fetched again, once per request;
//   - a page that does not parse: reported through the callback as a page with a reject
//     (code "bad-json", the URL in the reason) and no events; the poll stops there with
//     kCorrupt, keeping the cursor at the last good page, so the next poll asks again from
//     there and the pages after it are fetched then (none is skipped).
//
// Cursor: an opaque string (the newest lastUpdateDateTime delivered, and the ids delivered
// at exactly that instant, because the filter is "ge"). The pipeline checkpoints it with the
// input positions and hands it back with set_cursor after a restart, so no alert is skipped
// and none is delivered twice.
//
// Updates: Graph returns an alert again whenever it changes. An alert this poller has
// delivered before (same id, newer lastUpdateDateTime), or one created before the cursor it
// resumed from, is delivered with EdrAlertBody::is_update = true. An id with the same
// lastUpdateDateTime as already delivered is dropped as a duplicate.
//
// Secrets: the client secret is read from the environment variable named in the options;
// it is never logged, never put in an error message and never returned.
// Certificate credentials: with certificate_path set (a PEM file with the key and the
// certificate), the token request carries a signed client assertion (client_assertion.h)
// instead of a secret.
//
// Thread safety: one poller is driven by one thread. Events handed to the callback hold
// views into the page's body and the page's own decoder (its string arena): they are valid
// as long as the GraphPage lives; the callback may std::move the page out to keep it.
#pragma once

#include "ingest/defender/client_assertion.h"

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/status.h"
#include "core/time.h"
#include "ingest/decoder.h"
#include "ingest/defender/alerts.h"

namespace vigil::ingest::defender {

inline constexpr size_t kMaxSeenAlertIds = 200'000;  // ids remembered for update detection
inline constexpr int kMaxPagesPerPoll = 10'000;      // a runaway nextLink chain stops here

struct GraphPollerOptions {
  std::string tenant_id;
  std::string client_id;
  std::string client_secret_env = "VIGIL_DEFENDER_CLIENT_SECRET";  // name of the variable
  std::string certificate_path;  // PEM key + certificate: client assertion instead of a secret
  std::string authority_url = "https://login.microsoftonline.com";
  std::string graph_url = "https://graph.microsoft.com";
  std::string scope = "https://graph.microsoft.com/.default";
  int page_size = 100;
  Micros poll_interval = kMicrosPerMinute;
  Micros request_timeout = 30 * kMicrosPerSecond;
  Micros max_retry_after = 5 * kMicrosPerMinute;
  int max_retries = 5;
  // Where a first poll (no cursor) starts; empty = Graph's own default (all alerts).
  std::string start_time;
  uint32_t input_index = 0;  // SourcePos.input of the events
};

// One page as fetched.
struct GraphPage {
  std::string url;
  int http_status = 0;
  std::string body;             // the page as received (followed by kReadPadding bytes)
  std::unique_ptr<AlertsDecoder> decoder;  // owns the string arena the events point into
  std::vector<Event> events;    // views into body and decoder's arena
  std::vector<Reject> rejects;  // a malformed page: one reject naming the URL
};

struct PollStats {
  int pages = 0;
  int bad_pages = 0;
  size_t alerts = 0;
  size_t updates = 0;
  size_t duplicates = 0;
  int throttled = 0;       // 429/503 answers waited out
  int token_refreshes = 0; // tokens fetched (first one included)
};

// The HTTP exchange the poller needs; the default uses libcurl. Tests may substitute it.
struct HttpResponse {
  int status = 0;  // 0 when no answer (connection refused, timeout)
  std::string body;
  std::string retry_after;  // Retry-After header, as sent
  std::string error;        // transport error text when status == 0
};

class GraphPoller {
 public:
  using PageCallback = std::function<void(GraphPage& page)>;
  using SleepFn = std::function<void(Micros)>;

  // Checks the options (InvalidArgument for missing tenant/client id/secret variable,
  // unsupported certificate) and builds a poller.
  static Result<std::unique_ptr<GraphPoller>> Create(GraphPollerOptions options);

  // Fetches every alert changed since the cursor, page by page, calling `on_page` for each
  // (good or malformed). Returns the stats; a non-ok Status says why the poll stopped early
  // (the cursor then reflects the pages delivered before the failure).
  Result<PollStats> PollOnce(const PageCallback& on_page);

  // Polls every poll_interval until `stop` is set; errors go to `on_error` and polling goes
  // on. The wait is sliced so `stop` is noticed within a second.
  void Run(const std::atomic<bool>& stop, const PageCallback& on_page,
           const std::function<void(const Status&)>& on_error);

  // The resume position (see above); "" before anything was delivered.
  std::string cursor() const;
  // Restores a cursor from a checkpoint. Bad text gives InvalidArgument and leaves it as is.
  Status set_cursor(const std::string& cursor);

  // Test hook: how the poller waits (default: sleeps the thread).
  void set_sleep(SleepFn fn) { sleep_ = std::move(fn); }

 private:
  explicit GraphPoller(GraphPollerOptions options);
  Status EnsureToken(bool force);
  // GET with throttling and one token refresh on 401.
  Result<HttpResponse> GetWithRetries(const std::string& url, PollStats& stats);
  std::string FirstUrl() const;
  // Marks updates/duplicates and advances the cursor; removes duplicates from page.events.
  void Classify(GraphPage& page, PollStats& stats);

  GraphPollerOptions opts_;
  std::string secret_;
  std::unique_ptr<ClientCertificate> cert_;
  std::string token_;
  Micros token_expiry_ = 0;  // wall clock
  SleepFn sleep_;

  // Cursor.
  Micros cursor_time_ = 0;
  std::string cursor_text_;                 // lastUpdateDateTime as Graph wrote it
  std::vector<std::string> cursor_ids_;     // ids delivered at exactly cursor_time_
  Micros resumed_from_ = 0;                 // cursor at construction/restore
  // id -> lastUpdateDateTime delivered, oldest first out past kMaxSeenAlertIds.
  absl::flat_hash_map<std::string, Micros> seen_;
  std::deque<std::string> seen_order_;
};

// The HTTP client used by the poller (libcurl). Exposed for tests.
HttpResponse HttpPostForm(const std::string& url, const std::string& form, Micros timeout);
HttpResponse HttpGet(const std::string& url, const std::string& bearer, Micros timeout);

}  // namespace vigil::ingest::defender

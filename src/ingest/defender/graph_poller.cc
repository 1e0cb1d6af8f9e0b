#include "ingest/defender/graph_poller.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/curl_api.h"

namespace vigil::ingest::defender {

namespace {

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t WriteBody(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

size_t WriteHeader(char* p, size_t size, size_t n, void* user) {
  std::string_view line(p, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i)
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
    if (match) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
      static_cast<HttpResponse*>(user)->retry_after = std::string(v);
    }
  }
  return size * n;
}

HttpResponse Perform(const std::string& url, const std::string* form, const std::string& bearer,
                     Micros timeout) {
  HttpResponse r;
  auto lib = Curl();
  if (!lib.ok()) {
    r.error = lib.status().message();
    return r;
  }
  const CurlApi& curl = **lib;
  CURL* c = curl.easy_init();
  if (c == nullptr) {
    r.error = "curl_easy_init failed";
    return r;
  }
  struct curl_slist* headers = nullptr;
  headers = curl.slist_append(headers, "Accept: application/json");
  std::string auth;
  if (!bearer.empty()) {
    auth = "Authorization: Bearer " + bearer;
    headers = curl.slist_append(headers, auth.c_str());
  }
  curl.SetText<CURLOPT_URL>(c, url.c_str());
  curl.SetList<CURLOPT_HTTPHEADER>(c, headers);
  curl.SetLong<CURLOPT_NOSIGNAL>(c, 1L);
  curl.SetLong<CURLOPT_TIMEOUT_MS>(c, static_cast<long>(timeout / 1000));
  curl.SetCallback<CURLOPT_WRITEFUNCTION>(c, WriteBody);
  curl.SetData<CURLOPT_WRITEDATA>(c, &r.body);
  curl.SetCallback<CURLOPT_HEADERFUNCTION>(c, WriteHeader);
  curl.SetData<CURLOPT_HEADERDATA>(c, &r);
  curl.SetText<CURLOPT_ACCEPT_ENCODING>(c, "");
  if (form != nullptr) {
    curl.SetLong<CURLOPT_POST>(c, 1L);
    curl.SetText<CURLOPT_POSTFIELDS>(c, form->c_str());
    curl.SetLong<CURLOPT_POSTFIELDSIZE>(c, static_cast<long>(form->size()));
  }
  CURLcode rc = curl.easy_perform(c);
  if (rc != CURLE_OK) {
    r.error = curl.easy_strerror(rc);
    r.status = 0;
  } else {
    long code = 0;
    curl.GetLong<CURLINFO_RESPONSE_CODE>(c, &code);
    r.status = static_cast<int>(code);
  }
  curl.slist_free_all(headers);
  curl.easy_cleanup(c);
  return r;
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Retry-After is delta-seconds (Graph) or an HTTP date (rare; treated as absent).
Micros RetryAfter(const std::string& v) {
  if (v.empty()) return 5 * kMicrosPerSecond;
  Micros s = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 5 * kMicrosPerSecond;
    s = s * 10 + (c - '0');
    if (s > 86400) break;
  }
  return s * kMicrosPerSecond;
}

// The text of a response for an error message: short, and never the request (which may
// hold the secret).
std::string Excerpt(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (c < 0x20 || c > 0x7e) c = ' ';
  return s;
}

}  // namespace

HttpResponse HttpPostForm(const std::string& url, const std::string& form, Micros timeout) {
  return Perform(url, &form, {}, timeout);
}

HttpResponse HttpGet(const std::string& url, const std::string& bearer, Micros timeout) {
  return Perform(url, nullptr, bearer, timeout);
}

GraphPoller::GraphPoller(GraphPollerOptions options) : opts_(std::move(options)) {
  sleep_ = [](Micros d) { std::this_thread::sleep_for(std::chrono::microseconds(d)); };
}

Result<std::unique_ptr<GraphPoller>> GraphPoller::Create(GraphPollerOptions options) {
  if (options.tenant_id.empty()) return InvalidArgument("defender.tenant_id is not set");
  if (options.client_id.empty()) return InvalidArgument("defender.client_id is not set");
  // Certificate credentials (a signed client assertion) when a certificate is configured;
  // otherwise a client secret from the environment.
  std::unique_ptr<ClientCertificate> cert;
  const char* secret = nullptr;
  if (!options.certificate_path.empty()) {
    auto c = ClientCertificate::Load(options.certificate_path);
    if (!c.ok()) return c.status();
    cert = std::move(c.value());
  } else {
    if (options.client_secret_env.empty())
      return InvalidArgument("defender.client_secret_env names no environment variable");
    secret = std::getenv(options.client_secret_env.c_str());
    if (secret == nullptr || *secret == '\0')
      return InvalidArgument("environment variable " + options.client_secret_env +
                             " (defender.client_secret_env) is not set");
  }
  if (options.page_size < 1 || options.page_size > 2000)
    return InvalidArgument("defender.page_size must be 1..2000");
  while (!options.authority_url.empty() && options.authority_url.back() == '/')
    options.authority_url.pop_back();
  while (!options.graph_url.empty() && options.graph_url.back() == '/')
    options.graph_url.pop_back();
  std::unique_ptr<GraphPoller> p(new GraphPoller(std::move(options)));
  if (secret) p->secret_ = secret;
  p->cert_ = std::move(cert);
  return p;
}

Status GraphPoller::EnsureToken(bool force) {
  if (!force && !token_.empty() && WallNow() < token_expiry_ - kMicrosPerMinute)
    return Status::Ok();
  token_.clear();
  std::string url = opts_.authority_url + "/" + UrlEncode(opts_.tenant_id) + "/oauth2/v2.0/token";
  std::string form = "grant_type=client_credentials&client_id=" + UrlEncode(opts_.client_id) +
                     "&scope=" + UrlEncode(opts_.scope);
  if (cert_) {
    auto assertion = cert_->Assertion(url, opts_.client_id, WallNow());
    if (!assertion.ok()) return assertion.status();
    form += "&client_assertion_type=" + UrlEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
            "&client_assertion=" + UrlEncode(*assertion);
  } else {
    form += "&client_secret=" + UrlEncode(secret_);
  }
  HttpResponse r = HttpPostForm(url, form, opts_.request_timeout);
  if (r.status == 0) return Unavailable("token endpoint " + url + ": " + r.error);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200) {
    std::string why;
    if (!j.is_discarded() && j.is_object())
      why = j.value("error", "") + ": " + j.value("error_description", "").substr(0, 200);
    else
      why = Excerpt(r.body);
    return Unavailable("token endpoint " + url + " answered " + std::to_string(r.status) + " " +
                       why);
  }
  if (j.is_discarded() || !j.is_object() || !j.contains("access_token") ||
      !j["access_token"].is_string())
    return Corrupt("token endpoint " + url + " answered without an access_token");
  token_ = j["access_token"].get<std::string>();
  int64_t expires_in = 3599;
  if (j.contains("expires_in")) {
    if (j["expires_in"].is_number_integer()) expires_in = j["expires_in"].get<int64_t>();
    else if (j["expires_in"].is_string())
      expires_in = std::atoll(j["expires_in"].get<std::string>().c_str());
  }
  token_expiry_ = WallNow() + expires_in * kMicrosPerSecond;
  return Status::Ok();
}

Result<HttpResponse> GraphPoller::GetWithRetries(const std::string& url, PollStats& stats) {
  bool refreshed = false;
  int attempts = 0;
  while (true) {
    bool had_token = !token_.empty();
    VIGIL_RETURN_IF_ERROR(EnsureToken(false));
    if (!had_token) ++stats.token_refreshes;
    HttpResponse r = HttpGet(url, token_, opts_.request_timeout);
    if (r.status == 200) return r;
    if (r.status == 401 && !refreshed) {
      refreshed = true;
      token_.clear();  // expired or revoked: fetch a new one, once
      continue;
    }
    if ((r.status == 429 || r.status == 503 || r.status == 0) && attempts < opts_.max_retries) {
      ++attempts;
      ++stats.throttled;
      Micros wait = r.status == 0 ? 5 * kMicrosPerSecond : RetryAfter(r.retry_after);
      sleep_(std::min(wait, opts_.max_retry_after));
      continue;
    }
    if (r.status == 0) return Unavailable("GET " + url + ": " + r.error);
    return Unavailable("GET " + url + " answered " + std::to_string(r.status) + ": " +
                       Excerpt(r.body));
  }
}

std::string GraphPoller::FirstUrl() const {
  std::string url = opts_.graph_url + "/v1.0/security/alerts_v2?%24top=" +
                    std::to_string(opts_.page_size);
  std::string since;
  if (cursor_time_ != 0) {
    since = FormatRfc3339(cursor_time_);
  } else if (!opts_.start_time.empty()) {
    since = opts_.start_time;
  }
  if (!since.empty()) url += "&%24filter=" + UrlEncode("lastUpdateDateTime ge " + since);
  return url;
}

void GraphPoller::Classify(GraphPage& page, PollStats& stats) {
  size_t kept = 0;
  for (size_t i = 0; i < page.events.size(); ++i) {
    Event& e = page.events[i];
    auto* a = std::get_if<EdrAlertBody>(&e.body);
    if (a == nullptr) continue;
    Micros t = a->last_updated ? a->last_updated : a->created;
    std::string id(a->alert_id);
    bool duplicate = false;
    if (t == cursor_time_ &&
        std::find(cursor_ids_.begin(), cursor_ids_.end(), id) != cursor_ids_.end()) {
      duplicate = true;
    } else if (auto it = seen_.find(id); it != seen_.end()) {
      if (t <= it->second) duplicate = true;
      else a->is_update = true;
    } else if (resumed_from_ != 0 && a->created != 0 && a->created < resumed_from_) {
      a->is_update = true;
    }
    if (duplicate) {
      ++stats.duplicates;
      continue;
    }
    if (auto it = seen_.find(id); it != seen_.end()) {
      it->second = t;
    } else {
      if (seen_.size() >= kMaxSeenAlertIds && !seen_order_.empty()) {
        seen_.erase(seen_order_.front());
        seen_order_.pop_front();
      }
      seen_.emplace(id, t);
      seen_order_.push_back(id);
    }
    if (a->is_update) ++stats.updates;
    ++stats.alerts;
    page.events[kept++] = e;
  }
  page.events.resize(kept);
}

Result<PollStats> GraphPoller::PollOnce(const PageCallback& on_page) {
  PollStats stats;
  std::string url = FirstUrl();
  Micros max_t = cursor_time_;
  std::vector<std::string> max_ids = cursor_ids_;
  for (int n = 0; !url.empty(); ++n) {
    if (n >= kMaxPagesPerPoll)
      return LimitExceeded("more than " + std::to_string(kMaxPagesPerPoll) +
                           " pages in one poll; stopped at " + url);
    auto got = GetWithRetries(url, stats);
    if (!got.ok()) return got.status();
    GraphPage page;
    page.url = url;
    page.http_status = got->status;
    page.body = std::move(got->body);
    size_t n_body = page.body.size();
    page.body.append(kReadPadding, '\0');  // simdjson padding; the bytes stay allocated
    page.body.resize(n_body);
    AlertsPageInfo info;
    SourcePos pos{opts_.input_index, 1, 0};
    page.decoder = std::make_unique<AlertsDecoder>();
    bool ok = page.decoder->DecodeDocument(page.body, pos, page.events, page.rejects, &info);
    if (!ok || !info.is_page) {
      page.events.clear();
      if (page.rejects.empty())
        page.rejects.push_back(MakeReject(pos, "not-a-page", "no \"value\" array", page.body));
      for (auto& r : page.rejects) r.reason = "page " + url + ": " + r.reason;
      ++stats.bad_pages;
      on_page(page);
      // Stop here: the next poll asks again from the last complete poll's cursor, so the
      // alerts of this page and of the pages after it are fetched then.
      return Corrupt("page " + url + " is malformed (" + page.rejects[0].code +
                     "); the poll stopped after " + std::to_string(stats.pages) +
                     " good pages and resumes from the cursor");
    }
    for (auto& r : page.rejects) r.reason = "page " + url + ": " + r.reason;
    Classify(page, stats);
    for (const auto& e : page.events) {
      const auto* a = e.As<EdrAlertBody>();
      Micros t = a->last_updated ? a->last_updated : a->created;
      if (t > max_t) {
        max_t = t;
        max_ids.assign(1, std::string(a->alert_id));
      } else if (t == max_t) {
        max_ids.emplace_back(a->alert_id);
      }
    }
    ++stats.pages;
    on_page(page);
    url = info.next_link;
  }
  // The whole chain was read: the cursor moves (a failure above leaves it where it was, so
  // nothing in an unread page can be skipped; the seen-id table avoids repeats meanwhile).
  if (max_t != cursor_time_) {
    cursor_time_ = max_t;
    cursor_ids_ = std::move(max_ids);
  } else {
    for (auto& id : max_ids)
      if (std::find(cursor_ids_.begin(), cursor_ids_.end(), id) == cursor_ids_.end())
        cursor_ids_.push_back(id);
  }
  return stats;
}

void GraphPoller::Run(const std::atomic<bool>& stop, const PageCallback& on_page,
                      const std::function<void(const Status&)>& on_error) {
  while (!stop.load()) {
    auto r = PollOnce(on_page);
    if (!r.ok() && on_error) on_error(r.status());
    for (Micros waited = 0; waited < opts_.poll_interval && !stop.load();
         waited += kMicrosPerSecond) {
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::min(kMicrosPerSecond, opts_.poll_interval - waited)));
    }
  }
}

std::string GraphPoller::cursor() const {
  if (cursor_time_ == 0) return {};
  std::string s = FormatRfc3339(cursor_time_);
  for (const auto& id : cursor_ids_) s += " " + id;
  return s;
}

Status GraphPoller::set_cursor(const std::string& cursor) {
  if (cursor.empty()) {
    cursor_time_ = 0;
    cursor_ids_.clear();
    resumed_from_ = 0;
    return Status::Ok();
  }
  size_t sp = cursor.find(' ');
  auto t = ParseIso8601(std::string_view(cursor).substr(0, sp));
  if (!t) return InvalidArgument("defender cursor does not start with a time: " + cursor.substr(0, 40));
  cursor_time_ = *t;
  resumed_from_ = *t;
  cursor_ids_.clear();
  while (sp != std::string::npos) {
    size_t next = cursor.find(' ', sp + 1);
    std::string id = cursor.substr(sp + 1, next == std::string::npos ? std::string::npos : next - sp - 1);
    if (!id.empty()) cursor_ids_.push_back(id);
    sp = next;
  }
  return Status::Ok();
}

}  // namespace vigil::ingest::defender

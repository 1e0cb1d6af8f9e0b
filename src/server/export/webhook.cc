#include "server/export/webhook.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/time.h"

namespace vigil::server::exp {

Result<ParsedUrl> ParseHttpUrl(const std::string& url) {
  ParsedUrl u;
  auto p = url.find("://");
  if (p == std::string::npos) return InvalidArgument("webhook url has no scheme: '" + url + "'");
  u.scheme = url.substr(0, p);
  if (u.scheme != "http" && u.scheme != "https") {
    return InvalidArgument("webhook url must be http or https: '" + url + "'");
  }
  std::string rest = url.substr(p + 3);
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  u.port = u.scheme == "https" ? 443 : 80;
  std::string host = hostport;
  if (!hostport.empty() && hostport[0] == '[') {  // [::1]:8080
    auto close = hostport.find(']');
    if (close == std::string::npos) return InvalidArgument("bad IPv6 host in url '" + url + "'");
    host = hostport.substr(1, close - 1);
    std::string after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return InvalidArgument("bad port in url '" + url + "'");
      hostport = "x" + after;  // reuse the port parsing below
    } else {
      hostport = host;
    }
  }
  auto colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(':') == colon) {
    std::string port = hostport.substr(colon + 1);
    if (host == hostport) host = hostport.substr(0, colon);
    char* end = nullptr;
    long v = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || !end || *end != '\0' || v <= 0 || v > 65535) {
      return InvalidArgument("bad port in url '" + url + "'");
    }
    u.port = static_cast<int>(v);
  }
  if (host.empty()) return InvalidArgument("webhook url has no host: '" + url + "'");
  u.host = host;
  return u;
}

WebhookSink::WebhookSink(WebhookOptions o) : o_(std::move(o)), name_("webhook:" + o_.url) {
  if (o_.retries < 0) o_.retries = 0;
  if (o_.retries + 1 > kMaxWebhookAttempts) o_.retries = kMaxWebhookAttempts - 1;
}

Status WebhookSink::DeadLetter(const ExportRecord& r, const std::string& error, int attempts) {
  dead_lettered_++;
  if (o_.dead_letter.empty()) return Status::Ok();
  nlohmann::json j = {{"time", FormatRfc3339(std::chrono::duration_cast<std::chrono::microseconds>(
                                                 std::chrono::system_clock::now().time_since_epoch())
                                                 .count())},
                      {"url", o_.url},
                      {"error", error},
                      {"attempts", attempts},
                      {"type", r.kind},
                      {"data", r.record}};
  FILE* f = std::fopen(o_.dead_letter.c_str(), "a");
  if (!f) return IoError(name_ + ": cannot open dead-letter file " + o_.dead_letter);
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  ok &= std::fclose(f) == 0;
  return ok ? Status::Ok() : IoError(name_ + ": cannot write dead-letter file " + o_.dead_letter);
}

Status WebhookSink::Write(const ExportRecord& r) {
  if (closed_) return Internal(name_ + ": write after close");
  auto url = ParseHttpUrl(o_.url);
  if (!url.ok()) {
    (void)DeadLetter(r, url.status().message(), 0);
    return url.status();
  }
  std::string body = nlohmann::json({{"type", r.kind}, {"data", r.record}})
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  httplib::Headers headers;
  for (const auto& [k, v] : o_.headers) headers.emplace(k, v);
  std::string last_error;
  int attempts = 0;
  int wait_ms = o_.backoff_ms;
  for (int i = 0; i <= o_.retries; ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      wait_ms *= 2;
    }
    attempts++;
    std::unique_ptr<httplib::Client> cli;
    std::string base = url->scheme + "://" + (url->host.find(':') != std::string::npos
                                                  ? "[" + url->host + "]"
                                                  : url->host) +
                       ":" + std::to_string(url->port);
    cli = std::make_unique<httplib::Client>(base);
    cli->set_connection_timeout(std::chrono::milliseconds(o_.timeout_ms));
    cli->set_read_timeout(std::chrono::milliseconds(o_.timeout_ms));
    cli->set_write_timeout(std::chrono::milliseconds(o_.timeout_ms));
    auto res = cli->Post(url->path, headers, body, "application/json");
    if (!res) {
      last_error = "request failed: " + httplib::to_string(res.error());
      continue;
    }
    if (res->status >= 200 && res->status < 300) {
      delivered_++;
      return Status::Ok();
    }
    last_error = "HTTP " + std::to_string(res->status);
    bool retryable = res->status >= 500 || res->status == 429 || res->status == 408;
    if (!retryable) break;
  }
  Status dl = DeadLetter(r, last_error, attempts);
  std::string msg = name_ + ": " + last_error + " after " + std::to_string(attempts) + " attempt(s)";
  if (!dl.ok()) msg += "; " + dl.message();
  return Unavailable(msg);
}

Status WebhookSink::Close() {
  closed_ = true;
  return Status::Ok();
}

}  // namespace vigil::server::exp

// Webhook export: each breach or incident POSTed as JSON ({"type": "breach", "data": {...}})
// to a URL, with retries and exponential backoff on network errors, 5xx and 429. A record
// that still fails (or that the receiver refuses with another 4xx) is appended to a
// dead-letter file, one JSON object a line, so nothing is silently lost.
#pragma once

#include <map>
#include <string>

#include "server/export/sink.h"

namespace vigil::server::exp {

// Attempts per record are capped whatever the config says.
inline constexpr int kMaxWebhookAttempts = 10;

struct WebhookOptions {
  std::string url;                             // http://host:port/path or https://...
  std::map<std::string, std::string> headers;  // extra headers (Authorization ...)
  int retries = 3;                             // attempts after the first
  int timeout_ms = 5000;                       // per attempt (connect and read)
  int backoff_ms = 500;                        // first wait; doubles each retry
  std::string dead_letter;                     // file for undeliverable records
};

struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;
  int port = 0;
  std::string path;    // "/" when empty
};
// Splits an http(s) URL; an error for other schemes, a missing host or a bad port.
Result<ParsedUrl> ParseHttpUrl(const std::string& url);

class WebhookSink : public Sink {
 public:
  explicit WebhookSink(WebhookOptions o);
  const std::string& name() const override { return name_; }
  // Delivers with retries (blocking the Exporter's worker, never the engine); on final
  // failure writes the dead-letter line and returns the last error.
  Status Write(const ExportRecord& r) override;
  Status Flush() override { return Status::Ok(); }
  Status Close() override;

  // Attempts per record after the cap (retries + 1).
  int max_attempts() const { return o_.retries + 1; }
  uint64_t delivered() const { return delivered_; }
  uint64_t dead_lettered() const { return dead_lettered_; }

 private:
  Status DeadLetter(const ExportRecord& r, const std::string& error, int attempts);

  WebhookOptions o_;
  std::string name_;
  bool closed_ = false;
  uint64_t delivered_ = 0;
  uint64_t dead_lettered_ = 0;
};

}  // namespace vigil::server::exp

// Syslog export: each breach or incident as one RFC 5424 message whose MSG is a CEF
// (ArcSight Common Event Format) record, sent over UDP (RFC 5426, one datagram a message)
// or TCP (RFC 6587 octet counting, so a message may hold any byte). Most SIEMs parse CEF
// out of syslog without configuration.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "server/export/sink.h"

namespace vigil::server::exp {

// A UDP datagram carries at most this many bytes; longer messages are cut (and counted),
// as RFC 5426 allows receivers to drop anything larger.
inline constexpr size_t kMaxSyslogUdpBytes = 2048;
// A TCP message carries at most this many bytes (a breach with very long reasons is cut).
inline constexpr size_t kMaxSyslogTcpBytes = 64 * 1024;

// CEF severity 0-10 from a 0-100 score.
int CefSeverity(int score);
// Escapes a CEF header field ('\' and '|') or an extension value ('\', '=', newlines).
std::string CefEscapeHeader(std::string_view s);
std::string CefEscapeValue(std::string_view s);
// "CEF:0|Vigil|Vigil|0.1.0|<model or vigil/incident>|<name>|<sev>|k=v ..." for a record.
std::string FormatCef(const std::string& kind, const nlohmann::json& record);
// "<PRI>1 TIMESTAMP HOST vigil - MSGID - MSG" (RFC 5424 with no structured data).
std::string FormatRfc5424(int facility, int severity, Micros time, const std::string& host,
                          const std::string& msgid, const std::string& msg);
// The syslog severity (RFC 5424 table 2) for a score: 2 critical (>= 90), 3 error (>= 75),
// 4 warning (>= 50), 5 notice.
int SyslogSeverity(int score);
// A facility by number ("16") or name ("local0" .. "local7", "user", "daemon", "auth",
// "security"); -1 when unknown.
int ParseFacility(const std::string& s);

struct SyslogOptions {
  std::string host = "127.0.0.1";
  int port = 514;
  std::string transport = "udp";  // "udp" or "tcp"
  int facility = 16;              // local0
  int connect_timeout_ms = 2000;
};

class SyslogSink : public Sink {
 public:
  explicit SyslogSink(SyslogOptions o);
  ~SyslogSink() override;
  const std::string& name() const override { return name_; }
  // Sends at once (syslog has no batching); on a TCP error reconnects once and resends.
  Status Write(const ExportRecord& r) override;
  Status Flush() override { return Status::Ok(); }
  Status Close() override;
  uint64_t truncated() const { return truncated_; }

 private:
  Status Connect();
  Status SendOnce(const std::string& msg);

  SyslogOptions o_;
  std::string name_;
  std::string hostname_;
  int fd_ = -1;
  bool closed_ = false;
  uint64_t truncated_ = 0;
};

}  // namespace vigil::server::exp

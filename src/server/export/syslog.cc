#include "server/export/syslog.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstring>
#include <optional>
#include <fcntl.h>

namespace vigil::server::exp {

int CefSeverity(int score) {
  if (score < 0) score = 0;
  if (score > 100) score = 100;
  return (score + 5) / 10;
}

std::string CefEscapeHeader(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '|') o += '\\';
    if (c == '\n' || c == '\r') {
      o += ' ';
      continue;
    }
    o += c;
  }
  return o;
}

std::string CefEscapeValue(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '=') {
      o += '\\';
      o += c;
    } else if (c == '\n') {
      o += "\\n";
    } else if (c == '\r') {
      o += "\\r";
    } else {
      o += c;
    }
  }
  return o;
}

int SyslogSeverity(int score) {
  if (score >= 90) return 2;
  if (score >= 75) return 3;
  if (score >= 50) return 4;
  return 5;
}

int ParseFacility(const std::string& s) {
  if (s.empty()) return -1;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (end && *end == '\0') return (v >= 0 && v <= 23) ? static_cast<int>(v) : -1;
  if (s.size() == 6 && s.rfind("local", 0) == 0 && s[5] >= '0' && s[5] <= '7') return 16 + (s[5] - '0');
  if (s == "user") return 1;
  if (s == "daemon") return 3;
  if (s == "auth") return 4;
  if (s == "security") return 13;
  return -1;
}

namespace {

std::string JoinStrings(const nlohmann::json& arr, const char* sep) {
  std::string out;
  if (!arr.is_array()) return out;
  for (const auto& v : arr) {
    if (!v.is_string()) continue;
    if (!out.empty()) out += sep;
    out += v.get<std::string>();
  }
  return out;
}

bool LooksLikeIp(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':')) return false;
  }
  return s.find('.') != std::string::npos || s.find(':') != std::string::npos;
}

void AddEntity(std::string& ext, const nlohmann::json& e, bool peer) {
  if (!e.is_object()) return;
  std::string id = e.value("id", "");
  std::string type = e.value("type", "");
  std::string name = e.value("name", "");
  if (type == "identity") {
    ext += std::string(peer ? " duser=" : " suser=") + CefEscapeValue(id);
  } else if (LooksLikeIp(id)) {
    ext += std::string(peer ? " dst=" : " src=") + CefEscapeValue(id);
    if (!name.empty() && name != id) ext += std::string(peer ? " dhost=" : " shost=") + CefEscapeValue(name);
  } else {
    ext += std::string(peer ? " dhost=" : " shost=") + CefEscapeValue(id);
  }
}

}  // namespace

std::string FormatCef(const std::string& kind, const nlohmann::json& r) {
  int score = r.value("score", 0);
  std::string sig, name, ext;
  std::optional<Micros> t;
  if (kind == "incident") {
    sig = "vigil/incident";
    name = r.value("title", "incident");
    if (r.contains("end") && r["end"].is_string()) t = ParseIso8601(r["end"].get<std::string>());
    ext = "msg=" + CefEscapeValue(r.value("summary", ""));
    ext += " cs2Label=tactics cs2=" + CefEscapeValue(JoinStrings(r.value("tactics", nlohmann::json()), ","));
    ext += " cs3Label=breaches cs3=" + CefEscapeValue(JoinStrings(r.value("breaches", nlohmann::json()), ","));
  } else {
    sig = r.value("model", "unknown");
    name = sig;
    if (r.contains("entity") && r["entity"].is_object()) name += " on " + r["entity"].value("name", "");
    if (r.contains("time") && r["time"].is_string()) t = ParseIso8601(r["time"].get<std::string>());
    ext = "msg=" + CefEscapeValue(JoinStrings(r.value("reasons", nlohmann::json()), " "));
    ext += " cat=" + CefEscapeValue(sig);
    if (r.contains("entity")) AddEntity(ext, r["entity"], false);
    if (r.contains("peer")) AddEntity(ext, r["peer"], true);
    ext += " cs2Label=mitre cs2=" + CefEscapeValue(JoinStrings(r.value("mitre", nlohmann::json()), ","));
  }
  if (t) ext += " rt=" + std::to_string(*t / 1000);
  ext += " externalId=" + CefEscapeValue(r.value("id", ""));
  ext += " cn1Label=score cn1=" + std::to_string(score);
  return "CEF:0|Vigil|Vigil|0.1.0|" + CefEscapeHeader(sig) + "|" + CefEscapeHeader(name) + "|" +
         std::to_string(CefSeverity(score)) + "|" + ext;
}

std::string FormatRfc5424(int facility, int severity, Micros time, const std::string& host,
                          const std::string& msgid, const std::string& msg) {
  std::string ts = time > 0 ? FormatRfc3339(time) : "-";
  return "<" + std::to_string(facility * 8 + severity) + ">1 " + ts + " " +
         (host.empty() ? "-" : host) + " vigil - " + (msgid.empty() ? "-" : msgid) + " - " + msg;
}

SyslogSink::SyslogSink(SyslogOptions o)
    : o_(std::move(o)), name_("syslog:" + o_.transport + "://" + o_.host + ":" + std::to_string(o_.port)) {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) == 0) hostname_ = buf;
}

SyslogSink::~SyslogSink() { (void)Close(); }

Status SyslogSink::Connect() {
  if (fd_ >= 0) return Status::Ok();
  addrinfo hints{};
  hints.ai_socktype = o_.transport == "tcp" ? SOCK_STREAM : SOCK_DGRAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(o_.host.c_str(), std::to_string(o_.port).c_str(), &hints, &res);
  if (rc != 0) return Unavailable(name_ + ": cannot resolve: " + gai_strerror(rc));
  Status last = Unavailable(name_ + ": no address");
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (o_.transport == "tcp") {
      // Non-blocking connect with a timeout, so a dead collector never hangs the exporter.
      int fl = ::fcntl(fd, F_GETFL, 0);
      ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
      int c = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (c != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, o_.connect_timeout_ms) == 1) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
          c = err == 0 ? 0 : -1;
          errno = err;
        } else {
          errno = ETIMEDOUT;
        }
      }
      if (c != 0) {
        last = Unavailable(name_ + ": connect: " + std::strerror(errno));
        ::close(fd);
        continue;
      }
      ::fcntl(fd, F_SETFL, fl);
    } else if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last = Unavailable(name_ + ": connect: " + std::strerror(errno));
      ::close(fd);
      continue;
    }
    fd_ = fd;
    break;
  }
  ::freeaddrinfo(res);
  return fd_ >= 0 ? Status::Ok() : last;
}

Status SyslogSink::SendOnce(const std::string& msg) {
  VIGIL_RETURN_IF_ERROR(Connect());
  std::string wire;
  if (o_.transport == "tcp") {
    wire = std::to_string(msg.size()) + " " + msg;  // RFC 6587 octet counting
  } else {
    wire = msg;
  }
  size_t sent = 0;
  while (sent < wire.size()) {
    ssize_t n = ::send(fd_, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Unavailable(name_ + ": send: " + std::strerror(errno));
      ::close(fd_);
      fd_ = -1;
      return st;
    }
    sent += static_cast<size_t>(n);
    if (o_.transport != "tcp") break;
  }
  return Status::Ok();
}

Status SyslogSink::Write(const ExportRecord& r) {
  if (closed_) return Internal(name_ + ": write after close");
  int score = r.record.value("score", 0);
  std::optional<Micros> t;
  const char* tk = r.kind == "incident" ? "end" : "time";
  if (r.record.contains(tk) && r.record[tk].is_string()) t = ParseIso8601(r.record[tk].get<std::string>());
  std::string msg = FormatRfc5424(o_.facility, SyslogSeverity(score), t.value_or(0), hostname_, r.kind,
                                  FormatCef(r.kind, r.record));
  size_t cap = o_.transport == "tcp" ? kMaxSyslogTcpBytes : kMaxSyslogUdpBytes;
  if (msg.size() > cap) {
    msg.resize(cap);
    truncated_++;
  }
  Status st = SendOnce(msg);
  if (!st.ok() && o_.transport == "tcp") st = SendOnce(msg);  // the collector may have restarted
  return st;
}

Status SyslogSink::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
  return Status::Ok();
}

}  // namespace vigil::server::exp

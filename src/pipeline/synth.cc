#include "pipeline/synth.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "core/hash.h"

namespace vigil::pipeline {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n ? Next() % n : 0; }
  double Uniform() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }

 private:
  uint64_t s_;
};

std::string Ts(Micros t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(t / kMicrosPerSecond),
                static_cast<long long>(t % kMicrosPerSecond));
  return buf;
}

std::string Uid(Rng& r) {
  static const char* kAlpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s = "C";
  for (int i = 0; i < 17; ++i) s.push_back(kAlpha[r.Below(62)]);
  return s;
}

struct Line {
  Micros t;
  std::string text;
};

// Collects the lines of one log, sorted by time at the end.
class Log {
 public:
  Log(std::string path, std::string fields, std::string types)
      : path_(std::move(path)), fields_(std::move(fields)), types_(std::move(types)) {}
  void Add(Micros t, std::string text) { lines_.push_back({t, std::move(text)}); }
  Status Write(const std::string& dir) const {
    std::vector<const Line*> sorted;
    for (const auto& l : lines_) sorted.push_back(&l);
    std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->t < b->t; });
    std::string file = dir + "/" + path_ + ".log";
    std::FILE* f = std::fopen(file.c_str(), "wb");
    if (!f) return IoError("cannot write " + file);
    std::fprintf(f,
                 "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
                 "#path\t%s\n#open\t2026-01-01-00-00-00\n#fields\t%s\n#types\t%s\n",
                 path_.c_str(), fields_.c_str(), types_.c_str());
    for (const auto* l : sorted) {
      std::fwrite(l->text.data(), 1, l->text.size(), f);
      std::fputc('\n', f);
    }
    std::fprintf(f, "#close\t2026-01-06-00-00-00\n");
    std::fclose(f);
    return Status::Ok();
  }

 private:
  std::string path_, fields_, types_;
  std::vector<Line> lines_;
};

constexpr const char* kConnFields =
    "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
    "resp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\t"
    "resp_pkts\tresp_ip_bytes\ttunnel_parents";
constexpr const char* kConnTypes =
    "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\t"
    "count\tstring\tcount\tcount\tcount\tcount\tset[string]";
constexpr const char* kHttpFields =
    "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\treferrer\t"
    "version\tuser_agent\torigin\trequest_body_len\tresponse_body_len\tstatus_code\tstatus_msg\t"
    "info_code\tinfo_msg\ttags\tusername\tpassword\tproxied\torig_fuids\torig_filenames\t"
    "orig_mime_types\tresp_fuids\tresp_filenames\tresp_mime_types";
constexpr const char* kHttpTypes =
    "time\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tstring\t"
    "string\tcount\tcount\tcount\tstring\tcount\tstring\tset[enum]\tstring\tstring\tset[string]\t"
    "vector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]\tvector[string]";
constexpr const char* kDnsFields =
    "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\t"
    "qclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected";
constexpr const char* kDnsTypes =
    "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\t"
    "string\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool";
constexpr const char* kSslFields =
    "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tcurve\tserver_name\t"
    "resumed\tlast_alert\tnext_protocol\testablished\tssl_history\tcert_chain_fps\t"
    "client_cert_chain_fps\tsni_matches_cert";
constexpr const char* kSslTypes =
    "time\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\tbool\tstring\tstring\tbool\t"
    "string\tvector[string]\tvector[string]\tbool";
constexpr const char* kFilesFields =
    "ts\tfuid\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tsource\tdepth\tanalyzers\tmime_type\t"
    "filename\tduration\tlocal_orig\tis_orig\tseen_bytes\ttotal_bytes\tmissing_bytes\t"
    "overflow_bytes\ttimedout\tparent_fuid\tmd5\tsha1\tsha256\textracted\textracted_cutoff\t"
    "extracted_size";
constexpr const char* kFilesTypes =
    "time\tstring\tstring\taddr\tport\taddr\tport\tstring\tcount\tset[string]\tstring\tstring\t"
    "interval\tbool\tbool\tcount\tcount\tcount\tcount\tbool\tstring\tstring\tstring\tstring\tstring\t"
    "bool\tcount";

struct Demo {
  Rng rng{42};
  Log conn{"conn", kConnFields, kConnTypes};
  Log http{"http", kHttpFields, kHttpTypes};
  Log dns{"dns", kDnsFields, kDnsTypes};
  Log ssl{"ssl", kSslFields, kSslTypes};
  Log files{"files", kFilesFields, kFilesTypes};
  uint64_t fuid_n = 0;

  std::string Conn(Micros t, const std::string& o, int op, const std::string& r, int rp,
                   const char* proto, const char* service, double dur, uint64_t ob, uint64_t rb,
                   const char* state = "SF") {
    std::string uid = Uid(rng);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%.6f\t%llu\t%llu\t%s\t-\t-\t0\tShADadFf\t%llu\t%llu\t%llu\t%llu\t-",
                  Ts(t).c_str(), uid.c_str(), o.c_str(), op, r.c_str(), rp, proto, service, dur,
                  static_cast<unsigned long long>(ob), static_cast<unsigned long long>(rb), state,
                  static_cast<unsigned long long>(ob / 500 + 3), static_cast<unsigned long long>(ob + 200),
                  static_cast<unsigned long long>(rb / 1000 + 2), static_cast<unsigned long long>(rb + 150));
    // The connection record is written when it ends; ts is its start.
    conn.Add(t, buf);
    return uid;
  }
  int Port() { return 32768 + static_cast<int>(rng.Below(28000)); }

  // One day of an internet-facing web server from d0: `inbound` HTTPS connections from
  // random internet clients (never CGNAT or loopback addresses: those count as internal),
  // then its nightly package updates from deb.debian.org and registry.npmjs.org.
  void InternetFacingDay(Micros d0, const std::string& web, int inbound) {
    for (int k = 0; k < inbound; ++k) {
      Micros t = d0 + static_cast<Micros>(rng.Below(kMicrosPerDay));
      uint64_t first = 20 + rng.Below(180);
      if (first == 100 || first == 127) first = 101;
      std::string client = std::to_string(first) + "." + std::to_string(rng.Below(250)) + "." +
                           std::to_string(rng.Below(250)) + "." + std::to_string(1 + rng.Below(250));
      Conn(t, client, Port(), web, 443, "tcp", "ssl", 2.0, 800, 15000);
    }
    Tls(d0 + 3 * kMicrosPerHour, web, "151.101.2.132", "deb.debian.org", 40000);
    Tls(d0 + 3 * kMicrosPerHour + 60 * kMicrosPerSecond, web, "104.16.24.35", "registry.npmjs.org", 90000);
  }

  void Http(Micros t, const std::string& o, const std::string& r, int rp, const char* method,
            const std::string& host, const std::string& uri, const std::string& ua, int status,
            uint64_t resp_len, const std::string& mime = "", const std::string& fname = "",
            const std::string& file_mime = "") {
    int op = Port();
    std::string uid = Conn(t, o, op, r, rp, "tcp", "http", 0.2 + rng.Uniform(), 300 + rng.Below(500),
                           resp_len + 300);
    std::string fuid = "-";
    if (!mime.empty()) {
      char f[32];
      std::snprintf(f, sizeof f, "F%016llu", static_cast<unsigned long long>(++fuid_n));
      fuid = f;
    }
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "%s\t%s\t%s\t%d\t%s\t%d\t1\t%s\t%s\t%s\t-\t1.1\t%s\t-\t0\t%llu\t%d\tOK\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\t%s\t%s\t%s",
                  Ts(t + 1000).c_str(), uid.c_str(), o.c_str(), op, r.c_str(), rp, method, host.c_str(),
                  uri.c_str(), ua.c_str(), static_cast<unsigned long long>(resp_len), status, fuid.c_str(),
                  fname.empty() ? "-" : fname.c_str(), mime.empty() ? "-" : mime.c_str());
    http.Add(t + 1000, buf);
    if (!mime.empty()) {
      std::snprintf(buf, sizeof buf,
                    "%s\t%s\t%s\t%s\t%d\t%s\t%d\tHTTP\t0\t(empty)\t%s\t%s\t0.1\t-\tF\t%llu\t%llu\t0\t0\tF\t-\t-\t-\t-\t-\t-\t-",
                    Ts(t + 2000).c_str(), fuid.c_str(), uid.c_str(), r.c_str(), rp, o.c_str(), op,
                    file_mime.empty() ? mime.c_str() : file_mime.c_str(), fname.empty() ? "-" : fname.c_str(),
                    static_cast<unsigned long long>(resp_len), static_cast<unsigned long long>(resp_len));
      files.Add(t + 2000, buf);
    }
  }
  void Dns(Micros t, const std::string& o, const std::string& q, const std::string& answer) {
    int op = Port();
    std::string uid = Conn(t, o, op, "10.20.0.2", 53, "udp", "dns", 0.01, 40, 80);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s\t%s\t%s\t%d\t10.20.0.2\t53\tudp\t%llu\t0.01\t%s\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t%s\t300.000000\tF",
                  Ts(t).c_str(), uid.c_str(), o.c_str(), op,
                  static_cast<unsigned long long>(rng.Below(65535)), q.c_str(), answer.c_str());
    dns.Add(t, buf);
  }
  void Tls(Micros t, const std::string& o, const std::string& r, const std::string& sni, uint64_t rb) {
    int op = Port();
    std::string uid = Conn(t, o, op, r, 443, "tcp", "ssl", 1 + rng.Uniform() * 5, 2000 + rng.Below(3000), rb);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s\t%s\t%s\t%d\t%s\t443\tTLSv13\tTLS_AES_128_GCM_SHA256\tx25519\t%s\tF\t-\th2\tT\tCsiI\t-\t-\t-",
                  Ts(t + 500).c_str(), uid.c_str(), o.c_str(), op, r.c_str(), sni.c_str());
    ssl.Add(t + 500, buf);
  }
};

}  // namespace

Result<Micros> WriteDemoDataset(const std::string& dir, uint64_t seed) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  Demo d;
  d.rng = Rng(seed);
  const Micros start = 1'767'225'600LL * kMicrosPerSecond;  // 2026-01-01T00:00:00Z
  const int days = 5;
  std::vector<std::string> ws;
  for (int i = 10; i < 50; ++i) ws.push_back("10.20.1." + std::to_string(i));
  const std::string web = "10.20.5.21";       // internet-facing Next.js server
  const std::string intranet = "10.20.5.22";  // internal app server
  const std::string collector = "10.20.5.23"; // monitoring collector
  std::vector<std::string> saas;
  for (int i = 0; i < 30; ++i) saas.push_back("52.96." + std::to_string(10 + i) + ".20");
  const std::vector<std::string> browsers = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"};

  for (int day = 0; day < days; ++day) {
    Micros d0 = start + day * kMicrosPerDay;
    for (size_t w = 0; w < ws.size(); ++w) {
      const std::string& h = ws[w];
      // Office hours 08:00-18:00: intranet, SaaS, some browsing.
      for (int k = 0; k < 60; ++k) {
        Micros t = d0 + 8 * kMicrosPerHour + static_cast<Micros>(d.rng.Below(10 * kMicrosPerHour));
        int what = static_cast<int>(d.rng.Below(10));
        if (what < 4) {
          d.Http(t, h, intranet, 80, "GET", "intranet.corp", "/app/page" + std::to_string(d.rng.Below(40)),
                 browsers[w % browsers.size()], 200, 2000 + d.rng.Below(20000));
        } else if (what < 8) {
          const std::string& s = saas[d.rng.Below(saas.size())];
          d.Tls(t, h, s, "app" + std::to_string(&s - &saas[0]) + ".saas.example", 5000 + d.rng.Below(50000));
        } else {
          // Browsing: each workstation meets hosts no one else does (keeps p_new high).
          std::string ext = "198.18." + std::to_string(w) + "." + std::to_string(d.rng.Below(250) + 1);
          d.Dns(t - 20000, h, "site" + std::to_string(d.rng.Below(100000)) + ".example", ext);
          d.Tls(t, h, ext, "site.example", 3000 + d.rng.Below(30000));
        }
      }
      // Benign periodic traffic: NTP every 1024 s, telemetry to the internal collector every 60 s.
      for (Micros t = d0 + static_cast<Micros>(w) * kMicrosPerSecond; t < d0 + kMicrosPerDay; t += 1024 * kMicrosPerSecond)
        d.Conn(t, h, 123, "129.6.15.28", 123, "udp", "ntp", 0.05, 48, 48);
      for (Micros t = d0 + static_cast<Micros>(w) * 1500000; t < d0 + kMicrosPerDay; t += 60 * kMicrosPerSecond)
        d.Conn(t, h, d.Port(), collector, 8125, "udp", "-", 0.0, 180, 0, "S0");
    }
    // The web server: inbound from the internet, a daily update check out.
    d.InternetFacingDay(d0, web, 400);
    // Servers and workstations also talk to the SaaS pool so it is popular.
  }

  // Day 5, 10:00: the attack.
  const std::string vpn = "146.70.192.180";
  const std::string c2 = "203.0.113.7";
  const std::string stager = "203.0.113.50";
  const std::string pool = "51.15.58.224";
  Micros t0 = start + 4 * kMicrosPerDay + 10 * kMicrosPerHour;
  d.Http(t0, vpn, web, 3000, "POST", "shop.example.com", "/_next/data/build/index.json", "python-requests/2.31.0",
         200, 512);
  d.Conn(t0 + 3 * kMicrosPerMinute, web, d.Port(), vpn, 4444, "tcp", "-", 45.0, 2300, 81000);
  d.Http(t0 + 5 * kMicrosPerMinute, web, stager, 80, "GET", stager, "/vim", "curl/7.88.1", 200, 2400000,
         "application/x-executable", "vim");
  d.Http(t0 + 6 * kMicrosPerMinute, web, stager, 80, "GET", stager, "/x", "Wget/1.21.3", 200, 880000,
         "application/x-executable", "x");
  for (int i = 0; i < 150; ++i) {
    Micros jitter = static_cast<Micros>((d.rng.Uniform() - 0.5) * 12 * kMicrosPerSecond);
    Micros t = t0 + 8 * kMicrosPerMinute + i * 60 * kMicrosPerSecond + jitter;
    d.Http(t, web, c2, 80, "POST", c2, "/api/v2/poll", "Go-http-client/1.1", 200, 120 + d.rng.Below(20));
  }
  d.Dns(t0 + 20 * kMicrosPerMinute - 50000, web, "xmr-eu1.nanopool.org", pool);
  d.Conn(t0 + 20 * kMicrosPerMinute, web, d.Port(), pool, 14444, "tcp", "-", 7200.0, 380000, 410000);
  d.Dns(t0 + 25 * kMicrosPerMinute - 50000, web, "github.com", "140.82.121.4");
  d.Tls(t0 + 25 * kMicrosPerMinute, web, "140.82.121.4", "github.com", 60000);
  d.Tls(t0 + 25 * kMicrosPerMinute + 2 * kMicrosPerSecond, web, "185.199.108.133",
        "objects.githubusercontent.com", 2900000);
  // Lateral probe: a workstation sends the intranet server a scripted user agent.
  d.Http(t0 + 40 * kMicrosPerMinute, "10.20.1.23", intranet, 80, "GET", "intranet.corp", "/admin/config",
         "python-requests/2.31.0", 403, 300);
  // Benign look-alike: a brand-new laptop with the standard browser.
  d.Http(t0 + 45 * kMicrosPerMinute, "10.20.1.99", intranet, 80, "GET", "intranet.corp", "/app/page1",
         browsers[0], 200, 5000);

  for (const Log* l : {&d.conn, &d.http, &d.dns, &d.ssl, &d.files}) VIGIL_RETURN_IF_ERROR(l->Write(dir));
  return t0;
}

Result<Micros> WriteBenignMonth(const std::string& dir, int workstations, int days, uint64_t seed) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  Demo d;
  d.rng = Rng(seed);
  const Micros start = 1'769'904'000LL * kMicrosPerSecond;  // 2026-02-01T00:00:00Z
  std::vector<std::string> ws;
  for (int i = 0; i < workstations; ++i) ws.push_back("10.30.1." + std::to_string(10 + i));
  const std::string laptop = "10.30.1.200";  // joins on day 20
  const std::string web = "10.30.5.21", intranet = "10.30.5.22", collector = "10.30.5.23";
  const std::string backup = "10.30.5.30";
  std::vector<std::string> popular;  // news, search, mail: everybody's
  for (int i = 0; i < 40; ++i) popular.push_back("151.101." + std::to_string(i) + ".10");
  std::vector<std::string> saas;
  for (int i = 0; i < 12; ++i) saas.push_back("52.96." + std::to_string(10 + i) + ".20");
  const std::string heartbeat = "20.190.160.5", update_cdn = "13.107.4.50", storage = "52.216.8.77";
  auto chrome = [](int version) {
    return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" +
           std::to_string(version) + ".0.0.0 Safari/537.36";
  };
  const std::string firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

  for (int day = 0; day < days; ++day) {
    Micros d0 = start + day * kMicrosPerDay;
    bool weekend = day % 7 == 5 || day % 7 == 6;
    std::vector<std::string> hosts = ws;
    if (day >= 20) hosts.push_back(laptop);
    for (size_t w = 0; w < hosts.size(); ++w) {
      const std::string& h = hosts[w];
      // Chrome updates itself mid-month, machine by machine over a few days.
      std::string browser = w % 4 == 3 ? firefox : chrome(day >= 14 + static_cast<int>(w % 3) ? 132 : 131);
      int activity = weekend ? 5 : 50;
      for (int k = 0; k < activity; ++k) {
        Micros t = d0 + 8 * kMicrosPerHour + static_cast<Micros>(d.rng.Below(10 * kMicrosPerHour));
        int what = static_cast<int>(d.rng.Below(20));
        if (what < 6) {
          d.Http(t, h, intranet, 80, "GET", "intranet.corp", "/app/page" + std::to_string(d.rng.Below(40)), browser,
                 200, 2000 + d.rng.Below(20000));
        } else if (what < 11) {
          size_t i = d.rng.Below(saas.size());
          d.Tls(t, h, saas[i], "app" + std::to_string(i) + ".saas.example", 5000 + d.rng.Below(50000));
        } else if (what < 17) {
          size_t i = d.rng.Below(popular.size());
          d.Dns(t - 20000, h, "www" + std::to_string(i) + ".news.example", popular[i]);
          d.Tls(t, h, popular[i], "www" + std::to_string(i) + ".news.example", 3000 + d.rng.Below(90000));
        } else {
          // The long tail: a site nobody in the network visited before.
          std::string ext = std::to_string(60 + d.rng.Below(120)) + "." + std::to_string(d.rng.Below(250)) + "." +
                            std::to_string(d.rng.Below(250)) + "." + std::to_string(1 + d.rng.Below(250));
          std::string name = "blog" + std::to_string(d.rng.Below(1000000)) + ".example";
          d.Dns(t - 20000, h, name, ext);
          d.Tls(t, h, ext, name, 3000 + d.rng.Below(30000));
        }
      }
      // Periodic by design: NTP, telemetry to the internal collector, the vendor heartbeat
      // every workstation sends (popular), and the daily update check.
      Micros off = static_cast<Micros>(w) * 7 * kMicrosPerSecond;
      for (Micros t = d0 + off; t < d0 + kMicrosPerDay; t += 1024 * kMicrosPerSecond)
        d.Conn(t, h, 123, "129.6.15.28", 123, "udp", "ntp", 0.05, 48, 48);
      for (Micros t = d0 + off; t < d0 + kMicrosPerDay; t += 300 * kMicrosPerSecond)
        d.Conn(t, h, d.Port(), collector, 8125, "udp", "-", 0.0, 180, 0, "S0");
      for (Micros t = d0 + off + 11 * kMicrosPerSecond; t < d0 + kMicrosPerDay; t += 600 * kMicrosPerSecond)
        d.Tls(t, h, heartbeat, "heartbeat.vendor-telemetry.example", 900 + d.rng.Below(50));
      d.Tls(d0 + 7 * kMicrosPerHour + off, h, update_cdn, "update.os-vendor.example", 4000);
      // Patch day: every machine downloads the month's installer from the vendor CDN.
      if (day == 9)
        d.Http(d0 + 11 * kMicrosPerHour + off, h, update_cdn, 80, "GET", "download.os-vendor.example",
               "/patches/kb5031445.msu", "Microsoft-Delivery-Optimization/10.0", 200, 48000000,
               "application/octet-stream", "kb5031445.msu", "application/x-dosexec");
    }
    // The web server answers the internet all day and fetches its updates every night.
    d.InternetFacingDay(d0, web, 300);
    // The backup server pushes to cloud storage every night: long and large.
    d.Tls(d0 + 1 * kMicrosPerHour, backup, storage, "backups.s3.example", 2000);
    d.Conn(d0 + 1 * kMicrosPerHour + kMicrosPerSecond, backup, d.Port(), storage, 443, "tcp", "ssl", 3000.0,
           9000000000ULL, 400000);
    // The intranet server and collector talk to each other.
    for (Micros t = d0; t < d0 + kMicrosPerDay; t += 300 * kMicrosPerSecond)
      d.Conn(t, intranet, d.Port(), collector, 8125, "udp", "-", 0.0, 180, 0, "S0");
  }
  for (const Log* l : {&d.conn, &d.http, &d.dns, &d.ssl, &d.files}) VIGIL_RETURN_IF_ERROR(l->Write(dir));
  return start;
}

void BenchCloudTrail(size_t records, std::string* doc, std::string* lines) {
  std::string all = "{\"Records\":[", each;
  Rng rng(0x2545F4914F6CDD1DULL);
  static const char* kCalls[][2] = {
      {"ec2.amazonaws.com", "DescribeInstances"}, {"s3.amazonaws.com", "ListBuckets"},
      {"iam.amazonaws.com", "ListUsers"},        {"s3.amazonaws.com", "GetObject"},
      {"lambda.amazonaws.com", "ListFunctions20150331"}, {"sts.amazonaws.com", "GetCallerIdentity"},
      {"ec2.amazonaws.com", "RunInstances"},     {"iam.amazonaws.com", "AttachUserPolicy"}};
  static const char* kUas[] = {
      "console.ec2.amazonaws.com",
      "aws-cli/2.13.0 Python/3.11.4 Linux/6.1.0 exe/x86_64.debian prompt/off command/s3.ls",
      "Boto3/1.28.0 md/Botocore#1.31.0 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.4",
      "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0"};
  char rec[2048];
  for (size_t i = 0; i < records; ++i) {
    auto u = static_cast<uint32_t>(rng.Below(500)), c = static_cast<uint32_t>(rng.Below(8)),
         ua = static_cast<uint32_t>(rng.Below(4));
    bool role = u % 3 == 0;
    unsigned sec = static_cast<unsigned>(i / 10);
    char identity[512];
    if (role) {
      std::snprintf(identity, sizeof identity,
                    R"({"type":"AssumedRole","principalId":"AROAEXAMPLE%03u:session-%u","arn":"arn:aws:sts::111122223333:assumed-role/role-%u/session-%u","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE%09u","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE%03u","arn":"arn:aws:iam::111122223333:role/role-%u","accountId":"111122223333","userName":"role-%u"},"webIdFederationData":{},"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"false"}}})",
                    u, u, u, u, u, u, u, u);
    } else {
      std::snprintf(identity, sizeof identity,
                    R"({"type":"IAMUser","principalId":"AIDAEXAMPLE%06u","arn":"arn:aws:iam::111122223333:user/user-%u","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE%09u","userName":"user-%u","sessionContext":{"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"true"}}})",
                    u, u, u, u);
    }
    int n = std::snprintf(
        rec, sizeof rec,
        R"({"eventVersion":"1.08","userIdentity":%s,"eventTime":"2024-01-%02uT%02u:%02u:%02uZ","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"%u.%u.%u.%u","userAgent":"%s",%s"requestParameters":{"maxResults":100,"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}},"responseElements":null,"requestID":"%08x-1111-2222-3333-444455556666","eventID":"%08x-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":%s,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}})",
        identity, 1 + sec / 86400 % 28, sec / 3600 % 24, sec / 60 % 60, sec % 60,
        kCalls[c][0], kCalls[c][1], 20 + u % 200, u % 256, (u * 7) % 256, 1 + u % 250, kUas[ua],
        rng.Below(50) == 0 ? R"("errorCode":"AccessDenied","errorMessage":"User is not authorized",)" : "",
        static_cast<unsigned>(i), static_cast<unsigned>(i), c < 6 ? "true" : "false");
    std::string_view r(rec, static_cast<size_t>(n));
    if (i) all += ',';
    all += r;
    each += r;
    each += '\n';
  }
  all += "]}";
  if (doc) *doc = std::move(all);
  if (lines) *lines = std::move(each);
}

Status WriteBenchConnLog(const std::string& tsv_path, const std::string& json_path, uint64_t records,
                         uint32_t devices, uint32_t externals, uint64_t seed, double usual_share) {
  Rng rng(seed);
  std::FILE* tsv = tsv_path.empty() ? nullptr : std::fopen(tsv_path.c_str(), "wb");
  std::FILE* json = json_path.empty() ? nullptr : std::fopen(json_path.c_str(), "wb");
  if ((!tsv_path.empty() && !tsv) || (!json_path.empty() && !json)) return IoError("cannot write bench logs");
  if (tsv)
    std::fprintf(tsv,
                 "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
                 "#open\t2026-01-01-00-00-00\n#fields\t%s\n#types\t%s\n",
                 kConnFields, kConnTypes);
  Micros t = 1'767'225'600LL * kMicrosPerSecond;
  const char* states[] = {"SF", "SF", "SF", "S0", "REJ", "S1", "RSTO"};
  const char* services[] = {"ssl", "http", "dns", "-", "ssl"};
  char buf[1024];
  for (uint64_t i = 0; i < records; ++i) {
    t += static_cast<Micros>(rng.Below(200000));  // ~10k connections per second of event time
    uint32_t dev = static_cast<uint32_t>(rng.Below(devices));
    // Zipf-ish popularity: half the traffic to 1% of hosts.
    uint32_t ext = rng.Below(2) ? static_cast<uint32_t>(rng.Below(std::max<uint32_t>(1, externals / 100)))
                                : static_cast<uint32_t>(rng.Below(externals));
    if (usual_share > 0 && rng.Uniform() < usual_share) {  // one of the device's eight usual hosts
      const uint64_t k = MixHash(dev, rng.Below(8));
      ext = static_cast<uint32_t>(k % std::max<uint32_t>(1, externals));
    }
    char o[32], r[32], uid[24];
    std::snprintf(o, sizeof o, "10.%u.%u.%u", (dev >> 16) & 255, (dev >> 8) & 255, (dev & 255));
    std::snprintf(r, sizeof r, "%u.%u.%u.%u", 11 + (ext >> 24) % 200, (ext >> 16) & 255, (ext >> 8) & 255, ext & 255);
    std::snprintf(uid, sizeof uid, "C%016llx", static_cast<unsigned long long>(rng.Next()));
    int op = 1024 + static_cast<int>(rng.Below(60000));
    int rp = rng.Below(10) < 7 ? 443 : (rng.Below(2) ? 80 : 53);
    const char* svc = services[rng.Below(5)];
    const char* st = states[rng.Below(7)];
    double dur = rng.Uniform() * 30;
    unsigned long long ob = rng.Below(20000), rb = rng.Below(200000);
    Micros ts = t - static_cast<Micros>(rng.Below(2 * kMicrosPerSecond));  // mildly out of order
    if (tsv) {
      int n = std::snprintf(buf, sizeof buf,
                            "%s\t%s\t%s\t%d\t%s\t%d\ttcp\t%s\t%.6f\t%llu\t%llu\t%s\tT\tF\t0\tShADadFf\t%llu\t%llu\t%llu\t%llu\t-\n",
                            Ts(ts).c_str(), uid, o, op, r, rp, svc, dur, ob, rb, st, ob / 500 + 3, ob + 200,
                            rb / 1000 + 2, rb + 150);
      std::fwrite(buf, 1, static_cast<size_t>(n), tsv);
    }
    if (json) {
      int n = std::snprintf(buf, sizeof buf,
                            "{\"ts\":%s,\"uid\":\"%s\",\"id.orig_h\":\"%s\",\"id.orig_p\":%d,\"id.resp_h\":\"%s\","
                            "\"id.resp_p\":%d,\"proto\":\"tcp\",\"service\":\"%s\",\"duration\":%.6f,"
                            "\"orig_bytes\":%llu,\"resp_bytes\":%llu,\"conn_state\":\"%s\",\"local_orig\":true,"
                            "\"local_resp\":false,\"missed_bytes\":0,\"history\":\"ShADadFf\",\"orig_pkts\":%llu,"
                            "\"orig_ip_bytes\":%llu,\"resp_pkts\":%llu,\"resp_ip_bytes\":%llu}\n",
                            Ts(ts).c_str(), uid, o, op, r, rp, svc, dur, ob, rb, st, ob / 500 + 3, ob + 200,
                            rb / 1000 + 2, rb + 150);
      std::fwrite(buf, 1, static_cast<size_t>(n), json);
    }
  }
  if (tsv) {
    std::fprintf(tsv, "#close\t2026-01-02-00-00-00\n");
    std::fclose(tsv);
  }
  if (json) std::fclose(json);
  return Status::Ok();
}

}  // namespace vigil::pipeline

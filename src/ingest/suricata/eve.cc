#include "ingest/suricata/eve.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/time.h"
#include "ingest/registry.h"

namespace vigil::ingest::suricata {

namespace od = simdjson::ondemand;

EveArena& EveArena::Shared() {
  static EveArena* arena = new EveArena();  // never destroyed: views must outlive everything
  return *arena;
}

bool EveArena::Intern(std::string_view s, std::string_view& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = set_.find(s); it != set_.end()) {
    out = *it;
    return true;
  }
  if (bytes_ + s.size() > max_bytes_) return false;
  if (block_used_ + s.size() > block_size_) {
    block_size_ = std::max(kBlockBytes, s.size());
    blocks_.push_back(std::make_unique<char[]>(block_size_));
    block_used_ = 0;
  }
  char* p = blocks_.back().get() + block_used_;
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  block_used_ += s.size();
  bytes_ += s.size();
  out = std::string_view(p, s.size());
  set_.insert(out);
  return true;
}

namespace {


}  // namespace


namespace {

// Error codes as the decoder contract names them.
const char* CodeOf(simdjson::error_code e) {
  switch (e) {
    case simdjson::DEPTH_ERROR: return "too-deep";
    case simdjson::NUMBER_OUT_OF_RANGE:
    case simdjson::NUMBER_ERROR:
    case simdjson::INCORRECT_TYPE: return "bad-number";
    default: return "bad-json";
  }
}

struct Status2 {
  const char* code = nullptr;
  const char* reason = nullptr;
  explicit operator bool() const { return code != nullptr; }
};

Status2 JsonFail(simdjson::error_code e) {
  if (e == simdjson::DEPTH_ERROR) return {"too-deep", "JSON nesting deeper than the 64-level cap"};
  return {CodeOf(e) == std::string_view("bad-number") ? "bad-number" : "bad-json",
          simdjson::error_message(e)};
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Everything one record may carry, gathered in one pass over its keys (Suricata's key order
// is not a contract, so bodies are collected whatever event_type turns out to be).
struct Gathered {
  std::string_view timestamp, flow_id, event_type, src_ip, dest_ip, proto, app_proto;
  uint64_t src_port = 0, dest_port = 0;
  bool has_src_port = false, has_dest_port = false;
  // flow
  FlowBody flow;
  std::string_view flow_start, flow_end, flow_state;
  // http
  HttpBody http;
  uint64_t http_port = 0;
  bool has_http_port = false;
  // dns
  DnsBody dns;
  std::string_view dns_type, dns_rdata;
  std::array<std::string_view, 16> answers{};
  size_t n_answers = 0;
  std::array<std::string_view, 8> mitre{};  // alert.metadata.mitre_technique_id
  size_t n_mitre = 0;
  // tls
  TlsBody tls;
  // fileinfo
  FileBody file;
  std::string_view magic;
  // alert
  IdsAlertBody alert;
};

class Reader {
 public:
  Reader(EveArena& arena, std::string& scratch) : arena_(arena), scratch_(scratch) {}

  // The text of a scalar as a view that outlives the parser: strings without quotes
  // (unescaped into the arena when needed), numbers/booleans as written, null as "".
  Status2 Text(od::value& v, std::string_view& out) {
    std::string_view tok = TrimRight(v.raw_json_token());
    if (tok.empty()) return {"bad-json", "empty JSON value"};
    if (tok[0] == '{' || tok[0] == '[') {
      // Not a scalar: skip it (the iterator does that when we move on).
      out = {};
      return {};
    }
    if (tok == "null") {
      out = {};
      return {};
    }
    if (tok[0] != '"') {
      out = tok;
      return {};
    }
    if (tok.size() < 2 || tok.back() != '"') return {"bad-json", "unterminated JSON string"};
    std::string_view inner = tok.substr(1, tok.size() - 2);
    if (std::memchr(inner.data(), '\\', inner.size()) == nullptr) {
      out = inner;
      return {};
    }
    if (!UnescapeJsonString(inner, scratch_)) return {"bad-json", "bad escape in a JSON string"};
    if (!arena_.Intern(scratch_, out)) out = inner;  // arena full: the raw escaped text
    return {};
  }

  Status2 U64(od::value& v, uint64_t& out) {
    auto e = v.get_uint64().get(out);
    if (e) return {"bad-number", "a count or port that is not a non-negative integer"};
    return {};
  }

  std::string_view Join(const std::string_view* parts, size_t n) {
    if (n == 0) return {};
    if (n == 1) return parts[0];
    scratch_.clear();
    for (size_t i = 0; i < n; ++i) {
      if (i) scratch_.push_back(',');
      scratch_.append(parts[i]);
    }
    std::string_view out;
    return arena_.Intern(scratch_, out) ? out : parts[0];
  }

 private:
  EveArena& arena_;
  std::string& scratch_;
};

#define EVE_TRY(expr)         \
  do {                        \
    Status2 _s = (expr);      \
    if (_s) return _s;        \
  } while (0)
#define EVE_TRY_JSON(expr)                  \
  do {                                      \
    simdjson::error_code _e = (expr);       \
    if (_e) return JsonFail(_e);            \
  } while (0)

// Calls on_field(key, value) for each key of an object value.
template <typename F>
Status2 ForEachField(od::value& v, F&& on_field) {
  od::object obj;
  EVE_TRY_JSON(v.get_object().get(obj));
  for (auto fr : obj) {
    od::field fld;
    EVE_TRY_JSON(std::move(fr).get(fld));
    std::string_view key;
    EVE_TRY_JSON(fld.unescaped_key().get(key));
    EVE_TRY(on_field(key, fld.value()));
  }
  return {};
}

Status2 ReadFlow(Reader& rd, od::value& v, Gathered& g) {
  return ForEachField(v, [&](std::string_view k, od::value& x) -> Status2 {
    if (k == "pkts_toserver") return rd.U64(x, g.flow.orig_pkts);
    if (k == "pkts_toclient") return rd.U64(x, g.flow.resp_pkts);
    if (k == "bytes_toserver") return rd.U64(x, g.flow.orig_bytes);
    if (k == "bytes_toclient") return rd.U64(x, g.flow.resp_bytes);
    if (k == "start") return rd.Text(x, g.flow_start);
    if (k == "end") return rd.Text(x, g.flow_end);
    if (k == "state") return rd.Text(x, g.flow_state);
    return {};
  });
}

Status2 ReadHttp(Reader& rd, od::value& v, Gathered& g) {
  return ForEachField(v, [&](std::string_view k, od::value& x) -> Status2 {
    HttpBody& h = g.http;
    if (k == "hostname") return rd.Text(x, h.host);
    if (k == "url") return rd.Text(x, h.uri);
    if (k == "http_user_agent") return rd.Text(x, h.user_agent);
    if (k == "http_content_type") return rd.Text(x, h.resp_mime_types);
    if (k == "http_refer") return rd.Text(x, h.referrer);
    if (k == "http_method") return rd.Text(x, h.method);
    if (k == "length") return rd.U64(x, h.response_body_len);
    if (k == "status") {
      uint64_t s = 0;
      EVE_TRY(rd.U64(x, s));
      if (s > 999) return {"bad-number", "HTTP status out of range"};
      h.status_code = static_cast<uint16_t>(s);
      return {};
    }
    if (k == "http_port") {
      g.has_http_port = true;
      return rd.U64(x, g.http_port);
    }
    return {};
  });
}

// Calls on_item(value) for each element of an array value.
template <typename F>
Status2 ForEachItem(od::value& v, F&& on_item) {
  od::array arr;
  EVE_TRY_JSON(v.get_array().get(arr));
  for (auto er : arr) {
    od::value item;
    EVE_TRY_JSON(std::move(er).get(item));
    EVE_TRY(on_item(item));
  }
  return {};
}

// Reads a sub-object only when it is an object (Suricata writes "http": {...}); other shapes
// are skipped rather than rejected, to stay tolerant of versions.
template <typename F>
Status2 IfObject(od::value& v, F&& read) {
  od::json_type t;
  EVE_TRY_JSON(v.type().get(t));
  if (t != od::json_type::object) return {};
  return read(v);
}

Status2 ReadDnsAnswers(Reader& rd, od::value& v, Gathered& g) {
  return ForEachItem(v, [&](od::value& item) {
    return IfObject(item, [&](od::value& answer) -> Status2 {
      std::string_view rdata;
      EVE_TRY(ForEachField(answer, [&](std::string_view k, od::value& x) -> Status2 {
        if (k == "rdata") return rd.Text(x, rdata);
        return {};
      }));
      if (!rdata.empty() && g.n_answers < g.answers.size()) g.answers[g.n_answers++] = rdata;
      return {};
    });
  });
}

Status2 ReadDnsQueries(Reader& rd, od::value& v, Gathered& g) {
  return ForEachItem(v, [&](od::value& item) -> Status2 {
    if (!g.dns.query.empty()) return {};  // the first query
    return IfObject(item, [&](od::value& query) {
      return ForEachField(query, [&](std::string_view k, od::value& x) -> Status2 {
        if (k == "rrname") return rd.Text(x, g.dns.query);
        if (k == "rrtype") return rd.Text(x, g.dns.qtype_name);
        return {};
      });
    });
  });
}

Status2 ReadDns(Reader& rd, od::value& v, Gathered& g) {
  return ForEachField(v, [&](std::string_view k, od::value& x) -> Status2 {
    if (k == "type") return rd.Text(x, g.dns_type);
    if (k == "rrname") return rd.Text(x, g.dns.query);
    if (k == "rrtype") return rd.Text(x, g.dns.qtype_name);
    if (k == "rcode") return rd.Text(x, g.dns.rcode_name);
    if (k == "rdata") return rd.Text(x, g.dns_rdata);
    if (k == "answers") return ReadDnsAnswers(rd, x, g);
    if (k == "queries") return ReadDnsQueries(rd, x, g);
    return {};
  });
}

Status2 ReadTls(Reader& rd, od::value& v, Gathered& g) {
  return ForEachField(v, [&](std::string_view k, od::value& x) -> Status2 {
    if (k == "sni") return rd.Text(x, g.tls.server_name);
    if (k == "version") return rd.Text(x, g.tls.version);
    if (k == "subject") return rd.Text(x, g.tls.subject);
    if (k == "issuerdn") return rd.Text(x, g.tls.issuer);
    if (k == "ja3") {
      return IfObject(x, [&](od::value& ja3) {
        return ForEachField(ja3, [&](std::string_view k2, od::value& y) -> Status2 {
          if (k2 == "hash") return rd.Text(y, g.tls.ja3);
          return {};
        });
      });
    }
    return {};
  });
}

Status2 ReadFileinfo(Reader& rd, od::value& v, Gathered& g) {
  return ForEachField(v, [&](std::string_view k, od::value& x) -> Status2 {
    FileBody& f = g.file;
    if (k == "filename") return rd.Text(x, f.filename);
    if (k == "magic") return rd.Text(x, g.magic);
    if (k == "md5") return rd.Text(x, f.md5);
    if (k == "sha1") return rd.Text(x, f.sha1);
    if (k == "sha256") return rd.Text(x, f.sha256);
    if (k == "file_id") return rd.Text(x, f.fuid);
    if (k == "size") return rd.U64(x, f.seen_bytes);
    return {};
  });
}

// alert.metadata: the rule's metadata, each key an array of strings. Only the ATT&CK
// technique ids are kept; ids that do not look like one (T + digits, optional .sub) are
// skipped, so rule authors' free text never becomes a technique.
Status2 ReadAlertMetadata(Reader& rd, od::value& v, Gathered& g) {
  return ForEachField(v, [&](std::string_view k, od::value& x) -> Status2 {
    if (k != "mitre_technique_id") return {};
    od::json_type t;
    EVE_TRY_JSON(x.type().get(t));
    if (t != od::json_type::array) return {};
    return ForEachItem(x, [&](od::value& item) -> Status2 {
      std::string_view id;
      EVE_TRY(rd.Text(item, id));
      bool ok = id.size() >= 5 && id.size() <= 9 && id[0] == 'T';
      for (size_t i = 1; ok && i < id.size(); ++i)
        ok = (id[i] >= '0' && id[i] <= '9') || (id[i] == '.' && i == 5);
      if (ok && g.n_mitre < g.mitre.size()) g.mitre[g.n_mitre++] = id;
      return {};
    });
  });
}

Status2 ReadAlert(Reader& rd, od::value& v, Gathered& g) {
  return ForEachField(v, [&](std::string_view k, od::value& x) -> Status2 {
    IdsAlertBody& a = g.alert;
    if (k == "metadata") return IfObject(x, [&](od::value& m) { return ReadAlertMetadata(rd, m, g); });
    if (k == "action") return rd.Text(x, a.action);
    if (k == "signature") return rd.Text(x, a.signature);
    if (k == "category") return rd.Text(x, a.category);
    if (k == "signature_id") return rd.U64(x, a.signature_id);
    if (k == "rev") {
      uint64_t r = 0;
      EVE_TRY(rd.U64(x, r));
      a.rev = static_cast<uint32_t>(std::min<uint64_t>(r, UINT32_MAX));
      return {};
    }
    if (k == "severity") {
      uint64_t s = 0;
      EVE_TRY(rd.U64(x, s));
      if (s > 255) return {"bad-number", "alert severity out of range"};
      a.severity = static_cast<int>(s);
      return {};
    }
    return {};
  });
}

Status2 Gather(Reader& rd, od::object& obj, Gathered& g) {
  for (auto fr : obj) {
    od::field fld;
    EVE_TRY_JSON(std::move(fr).get(fld));
    std::string_view k;
    EVE_TRY_JSON(fld.unescaped_key().get(k));
    od::value& x = fld.value();
    if (k == "timestamp") {
      EVE_TRY(rd.Text(x, g.timestamp));
    } else if (k == "flow_id") {
      EVE_TRY(rd.Text(x, g.flow_id));
    } else if (k == "event_type") {
      EVE_TRY(rd.Text(x, g.event_type));
    } else if (k == "src_ip") {
      EVE_TRY(rd.Text(x, g.src_ip));
    } else if (k == "dest_ip") {
      EVE_TRY(rd.Text(x, g.dest_ip));
    } else if (k == "src_port") {
      g.has_src_port = true;
      EVE_TRY(rd.U64(x, g.src_port));
    } else if (k == "dest_port") {
      g.has_dest_port = true;
      EVE_TRY(rd.U64(x, g.dest_port));
    } else if (k == "proto") {
      EVE_TRY(rd.Text(x, g.proto));
    } else if (k == "app_proto") {
      EVE_TRY(rd.Text(x, g.app_proto));
    } else if (k == "flow") {
      EVE_TRY(IfObject(x, [&](od::value& y) { return ReadFlow(rd, y, g); }));
    } else if (k == "http") {
      EVE_TRY(IfObject(x, [&](od::value& y) { return ReadHttp(rd, y, g); }));
    } else if (k == "dns") {
      EVE_TRY(IfObject(x, [&](od::value& y) { return ReadDns(rd, y, g); }));
    } else if (k == "tls") {
      EVE_TRY(IfObject(x, [&](od::value& y) { return ReadTls(rd, y, g); }));
    } else if (k == "fileinfo") {
      EVE_TRY(IfObject(x, [&](od::value& y) { return ReadFileinfo(rd, y, g); }));
    } else if (k == "alert") {
      EVE_TRY(IfObject(x, [&](od::value& y) { return ReadAlert(rd, y, g); }));
    }
  }
  return {};
}

Proto ProtoFrom(std::string_view p) {
  if (p == "TCP" || p == "tcp" || p == "006") return Proto::kTcp;
  if (p == "UDP" || p == "udp" || p == "017") return Proto::kUdp;
  if (p == "ICMP" || p == "IPv6-ICMP" || p == "icmp" || p == "001" || p == "058")
    return Proto::kIcmp;
  return Proto::kUnknown;
}

enum class Type : uint8_t { kFlow, kHttp, kDns, kTls, kFileinfo, kAlert, kOther };

Type TypeOf(std::string_view t) {
  if (t == "flow") return Type::kFlow;
  if (t == "http") return Type::kHttp;
  if (t == "dns") return Type::kDns;
  if (t == "tls") return Type::kTls;
  if (t == "fileinfo") return Type::kFileinfo;
  if (t == "alert") return Type::kAlert;
  return Type::kOther;
}

// simdjson On-Demand checks depth only on the values it visits, not on those it skips, so
// the cap is enforced here. The common case costs one counting pass: only a line with more
// opening brackets than the cap gets the exact, string-aware scan.
bool TooDeep(std::string_view line) {
  size_t opens = 0;
  for (char c : line) opens += (c == '{') | (c == '[');
  if (opens <= kMaxJsonDepth) return false;
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace

EveDecoder::EveDecoder() {
  // Small initial capacity (grown on demand, keeping the depth cap): the depth cap is
  // what matters here.
  // On failure the parser allocates again on first use (still with the default depth cap).
  if (parser_.allocate(64 * 1024, kMaxJsonDepth) != simdjson::SUCCESS) return;
}

EveParse EveDecoder::ParseEveLine(std::string_view line, Event& ev) {
  EveParse out;
  auto fail = [&out](Status2 s) {
    out.outcome = EveOutcome::kError;
    out.code = s.code;
    out.reason = s.reason;
    return out;
  };
  if (TooDeep(line)) return fail({"too-deep", "JSON nesting deeper than the 64-level cap"});
  simdjson::padded_string_view padded(line.data(), line.size(), line.size() + kReadPadding);
  od::document doc;
  if (auto e = parser_.iterate(padded).get(doc)) return fail(JsonFail(e));
  od::object obj;
  if (auto e = doc.get_object().get(obj)) {
    if (e == simdjson::INCORRECT_TYPE) return fail({"bad-json", "record is not a JSON object"});
    return fail(JsonFail(e));
  }
  Gathered g;
  Reader rd(arena_, scratch_);
  if (Status2 s = Gather(rd, obj, g)) return fail(s);

  out.event_type = g.event_type;
  if (g.event_type.empty()) return fail({"missing-field", "record has no event_type"});
  Type type = TypeOf(g.event_type);
  if (type == Type::kOther) {
    out.outcome = EveOutcome::kUnsupported;
    return out;
  }
  if (g.timestamp.empty()) return fail({"missing-field", "record has no timestamp"});
  auto ts = ParseIso8601(g.timestamp);
  if (!ts) return fail({"bad-timestamp", "timestamp is not an ISO 8601 date-time"});
  ev.time = *ts;
  ev.uid = g.flow_id;

  // The 5-tuple: every type Vigil reads has one.
  auto src = IpAddr::Parse(g.src_ip);
  auto dst = IpAddr::Parse(g.dest_ip);
  if (!src || !dst) return fail({"bad-address", "src_ip or dest_ip missing or not an address"});
  if (g.src_port > 65535 || g.dest_port > 65535 || g.http_port > 65535)
    return fail({"bad-number", "port out of range"});
  NetTuple& n = ev.net;
  n.orig_h = *src;
  n.resp_h = *dst;
  n.orig_h_text = g.src_ip;
  n.resp_h_text = g.dest_ip;
  n.orig_p = static_cast<uint16_t>(g.src_port);
  n.resp_p = static_cast<uint16_t>(g.dest_port);
  n.proto = ProtoFrom(g.proto);
  n.valid = true;

  switch (type) {
    case Type::kFlow: {
      ev.kind = EventKind::kFlow;
      FlowBody& f = ev.Set<FlowBody>();
      f = g.flow;
      if (g.app_proto != "failed") f.service = g.app_proto;
      f.conn_state = g.flow_state;
      if (!g.flow_start.empty()) {
        auto st = ParseIso8601(g.flow_start);
        if (!st) return fail({"bad-timestamp", "flow.start is not an ISO 8601 date-time"});
        ev.time = *st;
        if (!g.flow_end.empty()) {
          auto en = ParseIso8601(g.flow_end);
          if (!en) return fail({"bad-timestamp", "flow.end is not an ISO 8601 date-time"});
          f.duration = std::max<Micros>(0, *en - *st);
          f.has_duration = true;
        }
      }
      break;
    }
    case Type::kHttp:
      ev.kind = EventKind::kHttp;
      ev.body = g.http;
      break;
    case Type::kDns: {
      ev.kind = EventKind::kDns;
      DnsBody& d = ev.Set<DnsBody>();
      d = g.dns;
      if (g.n_answers > 0) {
        d.answers = rd.Join(g.answers.data(), g.n_answers);
      } else {
        d.answers = g.dns_rdata;
      }
      break;
    }
    case Type::kTls:
      ev.kind = EventKind::kTls;
      ev.body = g.tls;
      std::get<TlsBody>(ev.body).established = true;
      break;
    case Type::kFileinfo: {
      ev.kind = EventKind::kFile;
      FileBody& f = ev.Set<FileBody>();
      f = g.file;
      f.total_bytes = f.seen_bytes;
      f.source = g.app_proto;
      f.mime_type = g.magic.empty() ? g.http.resp_mime_types : g.magic;
      // Suricata writes the tuple in the file's direction; put it back in connection order.
      bool from_server = g.has_http_port ? g.src_port == g.http_port
                                         : (g.src_port != 0 && g.src_port < g.dest_port);
      if (from_server) {
        std::swap(n.orig_h, n.resp_h);
        std::swap(n.orig_h_text, n.resp_h_text);
        std::swap(n.orig_p, n.resp_p);
      }
      f.is_orig = !from_server;
      break;
    }
    case Type::kAlert:
      ev.kind = EventKind::kIdsAlert;
      ev.body = g.alert;
      std::get<IdsAlertBody>(ev.body).app_proto = g.app_proto;
      std::get<IdsAlertBody>(ev.body).mitre_techniques = rd.Join(g.mitre.data(), g.n_mitre);
      break;
    case Type::kOther:
      break;
  }
  out.outcome = EveOutcome::kEvent;
  return out;
}

size_t EveDecoder::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                          std::vector<Event>& events, std::vector<Reject>& rejects) {
  return ForEachLine(data, start, at_end, rejects,
                     [&](std::string_view line, const SourcePos& pos) {
                       Event ev;
                       EveParse p = ParseEveLine(line, ev);
                       switch (p.outcome) {
                         case EveOutcome::kEvent:
                           ev.pos = pos;
                           ev.raw = line;
                           events.push_back(std::move(ev));
                           break;
                         case EveOutcome::kUnsupported: {
                           if (std::find(unsupported_seen_.begin(), unsupported_seen_.end(),
                                         p.event_type) != unsupported_seen_.end())
                             break;
                           if (unsupported_seen_.size() >= 64) break;  // a cap on types kept
                           unsupported_seen_.emplace_back(p.event_type);
                           rejects.push_back(MakeReject(
                               pos, "unsupported-event-type",
                               "event_type \"" + std::string(p.event_type.substr(0, 40)) +
                                   "\" is not read (reported once per input)",
                               line));
                           break;
                         }
                         case EveOutcome::kError:
                           rejects.push_back(MakeReject(pos, p.code, p.reason, line));
                           break;
                       }
                     });
}

int SniffEve(std::string_view head, std::string_view path) {
  size_t i = 0;
  while (i < head.size() && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' ||
                             head[i] == '\t'))
    ++i;
  if (i >= head.size() || head[i] != '{') return 0;
  size_t nl = head.find('\n', i);
  std::string_view first = head.substr(i, nl == std::string_view::npos ? head.size() - i : nl - i);
  if (first.find("\"event_type\"") == std::string_view::npos) return 0;
  int score = 80;
  if (first.find("\"timestamp\"") != std::string_view::npos) score += 10;
  if (path.find("eve") != std::string_view::npos || path.find("suricata") != std::string_view::npos)
    score += 5;
  return score;
}

VIGIL_REGISTER_FORMAT(FormatInfo{
    "suricata-eve",
    "Suricata eve.json (flow, http, dns, tls, fileinfo, alert), one JSON object a line",
    [] { return std::unique_ptr<Decoder>(std::make_unique<EveDecoder>()); },
    [](std::string_view head, std::string_view path) { return SniffEve(head, path); }});

}  // namespace vigil::ingest::suricata

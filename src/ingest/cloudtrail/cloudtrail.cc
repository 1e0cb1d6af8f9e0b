#include "ingest/cloudtrail/cloudtrail.h"

#include "core/json_scan.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/time.h"
#include "ingest/registry.h"

namespace vigil::ingest::cloudtrail {
namespace {

namespace od = simdjson::ondemand;

enum class Fail { kNone = 0, kBadJson, kTooDeep, kNotObject };

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  return TrimRight(s);
}

// Index just past the JSON value starting at `pos`, or npos when it does not end inside
// `s`. String-aware bracket matching; used only to step over a broken record.
size_t ScanValueEnd(std::string_view s, size_t pos) {
  if (pos >= s.size()) return std::string_view::npos;
  char c0 = s[pos];
  if (c0 == '"') {
    for (size_t i = pos + 1; i < s.size(); ++i) {
      if (s[i] == '\\') ++i;
      else if (s[i] == '"') return i + 1;
    }
    return std::string_view::npos;
  }
  if (c0 != '{' && c0 != '[') {
    size_t i = pos;
    while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '}' && !IsWs(s[i])) ++i;
    return i;
  }
  size_t depth = 0;
  bool in_str = false;
  for (size_t i = pos; i < s.size(); ++i) {
    char c = s[i];
    if (in_str) {
      if (c == '\\') ++i;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// One record being assembled. Lives on the stack; views only.
struct RecordAcc {
  CloudApiBody body;
  std::string_view event_time;
  std::string_view at_timestamp;      // Logstash/OTRF recordings
  std::string_view identity_account;  // userIdentity.accountId
  bool any = false;                   // saw at least one CloudTrail record field
};

class RecordParser {
 public:
  // `end` bounds key scans: one past the last byte of the input the parser iterates.
  explicit RecordParser(const char* end) : end_(end) {}

  std::string_view Key(od::field& f) const {
    const char* p = f.key().raw();
    if (p == nullptr || p >= end_) return {};
    const void* q = std::memchr(p, '"', static_cast<size_t>(end_ - p));
    if (q == nullptr) return {};
    return {p, static_cast<size_t>(static_cast<const char*>(q) - p)};
  }

  // Steps over a value; containers are measured against the depth cap.
  Fail Skip(od::value& v, size_t depth) {
    od::json_type t;
    if (v.type().get(t)) return Fail::kBadJson;
    if (t != od::json_type::object && t != od::json_type::array) return Fail::kNone;
    std::string_view raw;
    return Raw(v, t, depth, raw);
  }

  // The raw text of a container value (checked against the depth cap), "" for null.
  Fail Raw(od::value& v, od::json_type t, size_t depth, std::string_view& out) {
    out = {};
    if (t == od::json_type::object) {
      od::object o;
      if (v.get_object().get(o) || o.raw_json().get(out)) return Fail::kBadJson;
    } else if (t == od::json_type::array) {
      od::array a;
      if (v.get_array().get(a) || a.raw_json().get(out)) return Fail::kBadJson;
    } else if (t == od::json_type::null) {
      return Fail::kNone;
    } else {
      out = TrimRight(v.raw_json_token());
      return Fail::kNone;
    }
    out = TrimRight(out);
    // Each level needs at least one '{' or '['; count them (vectorised) before scanning.
    size_t opens = static_cast<size_t>(std::count(out.begin(), out.end(), '{')) +
                   static_cast<size_t>(std::count(out.begin(), out.end(), '['));
    if (depth + opens > kMaxJsonDepth && depth + JsonDepth(out, kMaxJsonDepth) > kMaxJsonDepth)
      return Fail::kTooDeep;
    return Fail::kNone;
  }

  Fail RawAny(od::value& v, size_t depth, std::string_view& out) {
    od::json_type t;
    if (v.type().get(t)) return Fail::kBadJson;
    return Raw(v, t, depth, out);
  }

  // A scalar as text: strings without their quotes (escapes kept), numbers and booleans as
  // written, null as "". Containers are skipped and give "".
  Fail Text(od::value& v, size_t depth, std::string_view& out) {
    out = {};
    od::json_type t;
    if (v.type().get(t)) return Fail::kBadJson;
    switch (t) {
      case od::json_type::string: {
        std::string_view tok = TrimRight(v.raw_json_token());
        if (tok.size() < 2 || tok.front() != '"' || tok.back() != '"') return Fail::kBadJson;
        out = tok.substr(1, tok.size() - 2);
        return Fail::kNone;
      }
      case od::json_type::number:
      case od::json_type::boolean: {
        out = TrimRight(v.raw_json_token());
        return Fail::kNone;
      }
      case od::json_type::null:
        return Fail::kNone;
      default:
        return Skip(v, depth);
    }
  }

  // A boolean, or the strings "true"/"false" some exports write instead.
  Fail Bool(od::value& v, size_t depth, bool& out, bool* present = nullptr) {
    od::json_type t;
    if (v.type().get(t)) return Fail::kBadJson;
    if (t == od::json_type::boolean) {
      if (v.get_bool().get(out)) return Fail::kBadJson;
      if (present) *present = true;
      return Fail::kNone;
    }
    std::string_view s;
    Fail f = Text(v, depth, s);
    if (f != Fail::kNone) return f;
    if (!s.empty() && present) *present = true;
    out = s == "true" || s == "True" || s == "TRUE";
    return Fail::kNone;
  }

  // Walks the members of an object, calling fn(key, value) for each. `depth` is the
  // object's own depth (1 for a top-level object).
  template <typename Fn>
  Fail Members(od::object& obj, Fn&& fn) {
    for (auto fr : obj) {
      od::field f;
      if (std::move(fr).get(f)) return Fail::kBadJson;
      std::string_view key = Key(f);
      Fail r = fn(key, f.value());
      if (r != Fail::kNone) return r;
    }
    return Fail::kNone;
  }

  Fail Object(od::value& v, od::object& out) {
    od::json_type t;
    if (v.type().get(t)) return Fail::kBadJson;
    if (t != od::json_type::object) return Fail::kNotObject;
    return v.get_object().get(out) ? Fail::kBadJson : Fail::kNone;
  }

  Fail SessionIssuer(od::value& v, size_t depth, RecordAcc& acc) {
    od::object o;
    Fail f = Object(v, o);
    if (f == Fail::kNotObject) return Skip(v, depth);
    if (f != Fail::kNone) return f;
    return Members(o, [&](std::string_view k, od::value& x) -> Fail {
      if (k == "arn") return Text(x, depth + 1, acc.body.session_issuer_arn);
      return Skip(x, depth + 1);
    });
  }

  Fail SessionContext(od::value& v, size_t depth, RecordAcc& acc) {
    od::object o;
    Fail f = Object(v, o);
    if (f == Fail::kNotObject) return Skip(v, depth);
    if (f != Fail::kNone) return f;
    return Members(o, [&](std::string_view k, od::value& x) -> Fail {
      if (k == "sessionIssuer") return SessionIssuer(x, depth + 1, acc);
      if (k == "sourceIdentity") return Text(x, depth + 1, acc.body.source_identity);
      if (k == "attributes") {
        od::object a;
        Fail g = Object(x, a);
        if (g == Fail::kNotObject) return Skip(x, depth + 1);
        if (g != Fail::kNone) return g;
        return Members(a, [&](std::string_view ak, od::value& y) -> Fail {
          if (ak == "mfaAuthenticated") return Bool(y, depth + 2, acc.body.mfa_authenticated);
          return Skip(y, depth + 2);
        });
      }
      return Skip(x, depth + 1);
    });
  }

  Fail UserIdentity(od::value& v, size_t depth, RecordAcc& acc) {
    od::object o;
    Fail f = Object(v, o);
    if (f == Fail::kNotObject) return Skip(v, depth);
    if (f != Fail::kNone) return f;
    CloudApiBody& b = acc.body;
    return Members(o, [&](std::string_view k, od::value& x) -> Fail {
      size_t d = depth + 1;
      if (k == "type") return Text(x, d, b.identity_type);
      if (k == "arn") return Text(x, d, b.principal_arn);
      if (k == "principalId") return Text(x, d, b.principal_id);
      if (k == "accountId") return Text(x, d, acc.identity_account);
      if (k == "userName") return Text(x, d, b.user_name);
      if (k == "accessKeyId") return Text(x, d, b.access_key_id);
      if (k == "invokedBy") return Text(x, d, b.invoked_by);
      if (k == "sessionContext") return SessionContext(x, d, acc);
      if (k == "sourceIdentity") return Text(x, d, b.source_identity);
      return Skip(x, d);
    });
  }

  // One member of a CloudTrail record. `depth` is the record object's depth.
  Fail RecordField(std::string_view k, od::value& x, size_t depth, RecordAcc& acc) {
    CloudApiBody& b = acc.body;
    size_t d = depth + 1;
    if (k.empty()) return Skip(x, d);
    switch (k[0]) {
      case 'e':
        if (k == "eventTime") return acc.any = true, Text(x, d, acc.event_time);
        if (k == "eventID") return acc.any = true, Text(x, d, b.event_id);
        if (k == "eventSource") return acc.any = true, Text(x, d, b.event_source);
        if (k == "eventName") return acc.any = true, Text(x, d, b.event_name);
        if (k == "eventType") return Text(x, d, b.event_type);
        if (k == "errorCode") return Text(x, d, b.error_code);
        if (k == "errorMessage") return Text(x, d, b.error_message);
        break;
      case 'a':
        if (k == "awsRegion") return Text(x, d, b.region);
        if (k == "additionalEventData") return RawAny(x, d, b.additional_event_data);
        break;
      case 's':
        if (k == "sourceIPAddress") return Text(x, d, b.source_ip);
        break;
      case 'u':
        if (k == "userAgent") return Text(x, d, b.user_agent);
        if (k == "userIdentity") return acc.any = true, UserIdentity(x, d, acc);
        break;
      case 'r':
        if (k == "recipientAccountId") return Text(x, d, b.account_id);
        if (k == "requestParameters") return RawAny(x, d, b.request_parameters);
        if (k == "responseElements") return RawAny(x, d, b.response_elements);
        if (k == "readOnly") return Bool(x, d, b.read_only, &b.has_read_only);
        break;
      case '@':
        if (k == "@timestamp") return Text(x, d, acc.at_timestamp);
        break;
      default:
        break;
    }
    return Skip(x, d);
  }

 private:
  const char* end_;
};

// Names a record in reject reasons: "line 12", "record 3", "the document". Kept as its
// parts and spelled out only for a reject, not once for every record.
struct Where {
  const char* what;
  uint64_t n = 0;
  bool numbered = true;
  std::string str() const { return numbered ? std::string(what) + " " + std::to_string(n) : what; }
};

// Shared by both decoders: the output vectors, where the input is, and the parsers.
class Session {
 public:
  // `resync_parser` decodes elements one by one after a broken record; it must not be the
  // parser iterating the enclosing document or line.
  Session(std::string_view data, const ChunkStart& start, std::vector<Event>& events,
          std::vector<Reject>& rejects, od::parser& resync_parser)
      : data_(data), start_(start), events_(events), rejects_(rejects),
        resync_parser_(resync_parser) {}

  SourcePos PosAt(const char* p, uint64_t line) const {
    return {start_.input, line, start_.offset + static_cast<uint64_t>(p - data_.data())};
  }

  void RejectAt(const char* p, uint64_t line, const char* code, std::string reason,
                std::string_view record) {
    rejects_.push_back(MakeReject(PosAt(p, line), code, std::move(reason), record));
  }

  static const char* FailCode(Fail f) {
    switch (f) {
      case Fail::kTooDeep: return "too-deep";
      case Fail::kNotObject: return "not-an-object";
      default: return "bad-json";
    }
  }
  static std::string FailReason(Fail f, const Where& at) {
    const std::string where = at.str();
    switch (f) {
      case Fail::kTooDeep:
        return where + " nests deeper than the " + std::to_string(kMaxJsonDepth) + "-level cap";
      case Fail::kNotObject: return where + " is not a JSON object";
      default: return where + " is not valid JSON";
    }
  }

  // Turns an assembled record into an event, or a reject when its time is missing or bad.
  void Finish(RecordAcc& acc, std::string_view raw, const char* at, uint64_t line,
              const Where& where) {
    std::string_view ts = acc.event_time.empty() ? acc.at_timestamp : acc.event_time;
    if (ts.empty()) {
      RejectAt(at, line, "missing-time", where.str() + " has no eventTime", raw);
      return;
    }
    std::optional<Micros> t = ParseIso8601(ts);
    if (!t) {
      RejectAt(at, line, "bad-time", where.str() + " has an eventTime that does not parse", raw);
      return;
    }
    if (raw.size() > kMaxRecordBytes) {
      RejectAt(at, line, "too-long", where.str() + " is larger than the 1 MiB record cap", raw);
      return;
    }
    CloudApiBody& b = acc.body;
    b.provider = "aws";
    if (b.account_id.empty()) b.account_id = acc.identity_account;
    if (b.event_name == "ConsoleLogin") {
      if (!b.response_elements.empty() && b.response_elements.size() < 4096)
        b.console_login_result = FindStringMember(b.response_elements, "ConsoleLogin");
      if (!b.mfa_authenticated && !b.additional_event_data.empty() &&
          b.additional_event_data.size() < 4096)
        b.mfa_authenticated = FindStringMember(b.additional_event_data, "MFAUsed") == "Yes";
    }
    Event& e = events_.emplace_back();
    e.time = *t;
    e.kind = EventKind::kCloudApi;
    e.pos = PosAt(at, line);
    e.raw = raw;
    e.uid = b.event_id;
    e.body = b;
  }

  // Walks a Records array: one event or reject per element. When the JSON breaks inside an
  // element, steps over it by bracket matching and decodes each later element on its own.
  void RecordsArray(od::array& arr, size_t depth, uint64_t line) {
    RecordParser rp(data_.data() + data_.size());
    size_t index = 0;
    for (auto er : arr) {
      od::value el;
      const char* at = nullptr;
      if (std::move(er).get(el) || el.current_location().get(at)) {
        // The array itself is broken here; nothing reliable to step over.
        RejectAt(data_.data(), line, "bad-json",
                 "the Records array breaks after record " + std::to_string(index), data_);
        return;
      }
      od::object obj;
      Fail f = rp.Object(el, obj);
      if (f == Fail::kNone) {
        RecordAcc acc;
        f = rp.Members(obj, [&](std::string_view k, od::value& x) {
          return rp.RecordField(k, x, depth + 1, acc);
        });
        if (f == Fail::kNone) {
          const char* end = nullptr;
          std::string_view raw;
          if (!el.current_location().get(end) && end > at) {
            raw = TrimRight(std::string_view(at, static_cast<size_t>(end - at)));
            if (!raw.empty() && raw.back() == ',') raw = TrimRight(raw.substr(0, raw.size() - 1));
          } else {
            size_t e = ScanValueEnd(data_, static_cast<size_t>(at - data_.data()));
            raw = e == std::string_view::npos ? data_.substr(at - data_.data())
                                              : data_.substr(at - data_.data(),
                                                             e - (at - data_.data()));
          }
          Finish(acc, raw, at, line, Where{"record", index});
          ++index;
          continue;
        }
      }
      if (f == Fail::kNotObject) {
        size_t e = ScanValueEnd(data_, static_cast<size_t>(at - data_.data()));
        std::string_view raw = data_.substr(at - data_.data(), e == std::string_view::npos
                                                                   ? std::string_view::npos
                                                                   : e - (at - data_.data()));
        RejectAt(at, line, "not-an-object", "record " + std::to_string(index) + " is not a JSON object",
                 raw);
        ++index;
        continue;
      }
      // A JSON error (or a depth violation) inside the record: the On-Demand iterator cannot be
      // trusted past it, so the rest of the array is decoded element by element.
      Resync(at, index, f, line);
      return;
    }
  }

  // Decodes one JSON object text on its own (a JSON line, or an element after a resync).
  // `parser` must not be iterating anything the caller still uses. A "Records" member is
  // expanded only when `allow_records` (a JSON line, not an element of a Records array).
  void Standalone(std::string_view text, uint64_t line, const Where& where,
                  od::parser& parser, bool allow_records) {
    size_t avail = static_cast<size_t>(data_.data() + data_.size() - text.data()) + kReadPadding;
    simdjson::padded_string_view psv(text.data(), text.size(), avail);
    od::document doc;
    od::object top;
    Fail f = Fail::kNone;
    if (parser.iterate(psv).get(doc)) {
      f = Fail::kBadJson;
    } else {
      od::json_type t;
      if (doc.type().get(t)) f = Fail::kBadJson;
      else if (t != od::json_type::object) f = Fail::kNotObject;
      else if (doc.get_object().get(top)) f = Fail::kBadJson;
    }
    RecordAcc acc;
    bool had_records = false;
    if (f == Fail::kNone) {
      RecordParser rp(data_.data() + data_.size());
      f = rp.Members(top, [&](std::string_view k, od::value& x) -> Fail {
        if (k == "detail") {
          od::object d;
          Fail g = rp.Object(x, d);
          if (g == Fail::kNotObject) return rp.Skip(x, 2);
          if (g != Fail::kNone) return g;
          return rp.Members(d, [&](std::string_view dk, od::value& y) {
            return rp.RecordField(dk, y, 2, acc);
          });
        }
        if (k == "Records" && allow_records) {
          od::array arr;
          if (x.get_array().get(arr)) return rp.Skip(x, 2);
          had_records = true;
          RecordsArray(arr, 2, line);
          return Fail::kNone;
        }
        return rp.RecordField(k, x, 1, acc);
      });
    }
    if (f != Fail::kNone) {
      RejectAt(text.data(), line, FailCode(f), FailReason(f, where), text);
      return;
    }
    if (had_records && !acc.any) return;
    Finish(acc, text, text.data(), line, where);
  }

  // Steps over the broken element at `at`, then decodes the following elements one by one.
  void Resync(const char* at, size_t index, Fail f, uint64_t line) {
    size_t pos = static_cast<size_t>(at - data_.data());
    size_t end = ScanValueEnd(data_, pos);
    std::string_view raw = data_.substr(pos, end == std::string_view::npos ? std::string_view::npos
                                                                            : end - pos);
    RejectAt(at, line, FailCode(f), FailReason(f, Where{"record", index}), raw);
    while (end != std::string_view::npos) {
      pos = end;
      while (pos < data_.size() && IsWs(data_[pos])) ++pos;
      if (pos >= data_.size() || data_[pos] != ',') return;  // ']' or the end of the array
      ++pos;
      while (pos < data_.size() && IsWs(data_[pos])) ++pos;
      ++index;
      end = ScanValueEnd(data_, pos);
      if (end == std::string_view::npos) {
        RejectAt(data_.data() + pos, line, "bad-json",
                 "record " + std::to_string(index) + " does not end", data_.substr(pos));
        return;
      }
      Standalone(data_.substr(pos, end - pos), line, Where{"record", index},
                 resync_parser_, false);
    }
  }

 private:
  std::string_view data_;
  ChunkStart start_;
  std::vector<Event>& events_;
  std::vector<Reject>& rejects_;
  od::parser& resync_parser_;
};

class DocumentDecoder : public Decoder {
 public:
  std::string_view format() const override { return "cloudtrail"; }
  bool needs_whole_document() const override { return true; }
  bool decode_ahead_pays() const override { return true; }

  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override {
    if (!at_end) return 0;  // a document is decoded whole
    if (Trim(data).empty()) return data.size();
    Session s(data, start, events, rejects, record_parser_);
    if (data.size() > kMaxDocumentBytes) {
      s.RejectAt(data.data(), 0, "too-long", "document larger than the 256 MiB cap", data);
      return data.size();
    }
    simdjson::padded_string_view psv(data.data(), data.size(), data.size() + kReadPadding);
    od::document doc;
    od::object top;
    od::json_type t;
    if (parser_.iterate(psv).get(doc) || doc.type().get(t)) {
      s.RejectAt(data.data(), 0, "bad-json", "the document is not valid JSON", data);
      return data.size();
    }
    if (t != od::json_type::object || doc.get_object().get(top)) {
      s.RejectAt(data.data(), 0, "not-an-object", "the document is not a JSON object", data);
      return data.size();
    }
    RecordParser rp(data.data() + data.size());
    bool found = false;
    Fail f = rp.Members(top, [&](std::string_view k, od::value& x) -> Fail {
      if (k != "Records") return rp.Skip(x, 1);
      od::array arr;
      if (x.get_array().get(arr)) return rp.Skip(x, 1);
      found = true;
      s.RecordsArray(arr, 1, 0);
      return Fail::kNone;
    });
    if (f != Fail::kNone && !found) {
      s.RejectAt(data.data(), 0, Session::FailCode(f), Session::FailReason(f, Where{"the document", 0, false}),
                 data);
    } else if (!found) {
      s.RejectAt(data.data(), 0, "no-records", "the document has no Records array", data);
    }
    return data.size();
  }

 private:
  od::parser parser_;
  od::parser record_parser_;  // for elements decoded one by one after a broken record
};

class LinesDecoder : public Decoder {
 public:
  std::string_view format() const override { return "cloudtrail-jsonl"; }
  bool decode_ahead_pays() const override { return true; }

  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override {
    Session s(data, start, events, rejects, resync_parser_);
    return ForEachLine(data, start, at_end, rejects, [&](std::string_view line, const SourcePos& p) {
      std::string_view t = Trim(line);
      if (t.empty()) return;
      s.Standalone(t, p.line, Where{"line", p.line}, parser_, true);
    });
  }

 private:
  od::parser parser_;
  od::parser resync_parser_;
};

// First non-space bytes of `s` (after a UTF-8 BOM).
std::string_view SkipLead(std::string_view s) {
  if (s.size() >= 3 && static_cast<unsigned char>(s[0]) == 0xEF &&
      static_cast<unsigned char>(s[1]) == 0xBB && static_cast<unsigned char>(s[2]) == 0xBF)
    s.remove_prefix(3);
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  return s;
}

bool HasRecordKeys(std::string_view s) {
  return s.find("\"eventSource\"") != std::string_view::npos &&
         s.find("\"eventName\"") != std::string_view::npos;
}

}  // namespace

size_t JsonDepth(std::string_view raw, size_t limit) {
  size_t depth = 0, max_depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (in_str) {
      if (c == '\\') ++i;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        max_depth = depth;
        if (max_depth > limit) return limit + 1;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

std::string_view FindStringMember(std::string_view raw, std::string_view key) {
  return FindJsonStringMember(raw, key);  // core/json_scan.h
}

int SniffDocument(std::string_view head, std::string_view path) {
  std::string_view s = SkipLead(head);
  if (s.empty() || s.front() != '{') return 0;
  size_t rec = s.find("\"Records\"");
  if (rec == std::string_view::npos || rec > 256) return 0;
  size_t i = rec + 9;
  while (i < s.size() && (IsWs(s[i]) || s[i] == ':')) ++i;
  if (i >= s.size() || s[i] != '[') return 0;
  int score = HasRecordKeys(s) ? 90 : 60;
  if (path.find("CloudTrail") != std::string_view::npos) score += 5;
  // Several documents, one a line, are the JSON-lines decoder's (it reads "Records" too).
  size_t nl = s.find('\n');
  if (nl != std::string_view::npos && SkipLead(s.substr(nl)).substr(0, 1) == "{") score = 55;
  return score;
}

int SniffLines(std::string_view head, std::string_view path) {
  (void)path;
  std::string_view s = SkipLead(head);
  if (s.empty() || s.front() != '{') return 0;
  std::string_view first = s.substr(0, s.find('\n'));
  bool envelope = first.find("\"detail-type\"") != std::string_view::npos &&
                  first.find("via CloudTrail") != std::string_view::npos;
  if (envelope) return 92;
  if (!HasRecordKeys(first)) return 0;
  bool has_time = first.find("\"eventTime\"") != std::string_view::npos ||
                  first.find("\"@timestamp\"") != std::string_view::npos;
  if (!has_time) return 0;
  // {"Records":[...]} on one line: the document decoder's when it is the only line.
  if (first.substr(0, 12).find("\"Records\"") != std::string_view::npos) {
    size_t nl = s.find('\n');
    bool more = nl != std::string_view::npos && !SkipLead(s.substr(nl)).empty();
    return more ? 93 : 40;
  }
  return 88;
}

std::unique_ptr<Decoder> MakeDocumentDecoder() { return std::make_unique<DocumentDecoder>(); }
std::unique_ptr<Decoder> MakeLinesDecoder() { return std::make_unique<LinesDecoder>(); }

VIGIL_REGISTER_FORMAT(FormatInfo{
    "cloudtrail", "AWS CloudTrail log files as delivered to S3 ({\"Records\":[...]})",
    [] { return MakeDocumentDecoder(); }, SniffDocument});
VIGIL_REGISTER_FORMAT(FormatInfo{
    "cloudtrail-jsonl",
    "AWS CloudTrail records one a line (CloudWatch Logs exports, EventBridge envelopes)",
    [] { return MakeLinesDecoder(); }, SniffLines});

}  // namespace vigil::ingest::cloudtrail

#include "ingest/zeek/zeek_json.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "ingest/registry.h"
#include "ingest/zeek/built_strings.h"
#include "ingest/zeek/line_masks.h"
#include "ingest/zeek/zeek_sniff.h"
#include "ingest/zeek/zeek_test_util.h"
#include "ingest/zeek/zeek_tsv.h"

namespace vigil::ingest::zeek {
namespace {

using testing::DecodeAll;
using testing::Decoded;
using testing::ReadTestData;

TEST(ZeekJson, DecodesHttpFieldByField) {
  std::string text = ReadTestData("http_007.json");
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty()) << d.rejects[0].code;
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.consumed, text.size());
  const Event& e = d.events[0];
  EXPECT_EQ(e.kind, EventKind::kHttp);
  EXPECT_EQ(e.time, 1599755438238535);
  EXPECT_EQ(e.pos.line, 1u);
  EXPECT_EQ(e.pos.offset, 0u);
  EXPECT_EQ(e.raw, text.substr(0, text.find('\n')));
  EXPECT_EQ(e.uid, "CyivES1Hf4PlG8GaWe");
  ASSERT_TRUE(e.net.valid);
  EXPECT_EQ(e.net.orig_h, *IpAddr::Parse("192.168.1.194"));
  EXPECT_EQ(e.net.orig_h_text, "192.168.1.194");
  EXPECT_EQ(e.net.orig_p, 41220);
  EXPECT_EQ(e.net.resp_h_text, "69.195.128.18");
  EXPECT_EQ(e.net.resp_p, 80);
  const HttpBody* h = e.As<HttpBody>();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->method, "GET");
  EXPECT_EQ(h->host, "69.195.128.18");
  EXPECT_EQ(h->uri, "/multi/check.php");
  EXPECT_EQ(h->referrer, "http://cnn.com");
  // The JSON text is "...DigExt\\)": one escaped backslash, unescaped here.
  EXPECT_EQ(h->user_agent, "Mozilla/4.0 (compatible; MSIE 5.0; Windows 98; DigExt\\)");
  EXPECT_EQ(h->request_body_len, 0u);
  EXPECT_EQ(h->response_body_len, 14u);
  EXPECT_EQ(h->status_code, 200);
  EXPECT_EQ(h->resp_fuids, "F8SGjE1BcZiqhS6Rk1");
  EXPECT_EQ(h->resp_mime_types, "text/plain");
  EXPECT_EQ(d.events[1].pos.line, 2u);
  EXPECT_EQ(d.events[1].pos.offset, text.find('\n') + 1);
  EXPECT_EQ(d.events[1].As<HttpBody>()->host, "api.steampowered.com");
  EXPECT_EQ(d.events[1].As<HttpBody>()->resp_mime_types, "text/json");
  EXPECT_EQ(d.events[2].As<HttpBody>()->referrer, "");
}

// The JSON excerpts are the TSV ones converted (tests/data/zeek/tsv2json.py): both decoders
// must produce the same events, field by field.
void ExpectSameEvents(const std::string& tsv_name, const std::string& json_name) {
  ZeekTsvDecoder tsv;
  ZeekJsonDecoder json;
  Decoded a = DecodeAll(tsv, ReadTestData(tsv_name));
  Decoded b = DecodeAll(json, ReadTestData(json_name));
  ASSERT_TRUE(b.rejects.empty()) << b.rejects[0].code << " line " << b.rejects[0].line;
  ASSERT_EQ(a.events.size(), b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    SCOPED_TRACE(i);
    const Event& x = a.events[i];
    const Event& y = b.events[i];
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.time, y.time);
    EXPECT_EQ(x.uid, y.uid);
    EXPECT_EQ(x.net.valid, y.net.valid);
    EXPECT_EQ(x.net.orig_h, y.net.orig_h);
    EXPECT_EQ(x.net.resp_h, y.net.resp_h);
    EXPECT_EQ(x.net.orig_h_text, y.net.orig_h_text);
    EXPECT_EQ(x.net.orig_p, y.net.orig_p);
    EXPECT_EQ(x.net.resp_p, y.net.resp_p);
    EXPECT_EQ(x.net.proto, y.net.proto);
    EXPECT_EQ(y.pos.line, i + 1);
    if (auto* f = x.As<FlowBody>()) {
      auto* g = y.As<FlowBody>();
      ASSERT_NE(g, nullptr);
      EXPECT_EQ(f->service, g->service);
      EXPECT_EQ(f->conn_state, g->conn_state);
      EXPECT_EQ(f->history, g->history);
      EXPECT_EQ(f->duration, g->duration);
      EXPECT_EQ(f->has_duration, g->has_duration);
      EXPECT_EQ(f->orig_bytes, g->orig_bytes);
      EXPECT_EQ(f->resp_bytes, g->resp_bytes);
      EXPECT_EQ(f->orig_pkts, g->orig_pkts);
      EXPECT_EQ(f->resp_pkts, g->resp_pkts);
    }
    if (auto* f = x.As<DnsBody>()) {
      auto* g = y.As<DnsBody>();
      ASSERT_NE(g, nullptr);
      EXPECT_EQ(f->query, g->query);
      EXPECT_EQ(f->qtype_name, g->qtype_name);
      EXPECT_EQ(f->rcode_name, g->rcode_name);
      EXPECT_EQ(f->answers, g->answers);
      EXPECT_EQ(f->rejected, g->rejected);
    }
    if (auto* f = x.As<TlsBody>()) {
      auto* g = y.As<TlsBody>();
      ASSERT_NE(g, nullptr);
      EXPECT_EQ(f->server_name, g->server_name);
      EXPECT_EQ(f->version, g->version);
      EXPECT_EQ(f->subject, g->subject);
      EXPECT_EQ(f->issuer, g->issuer);
      EXPECT_EQ(f->established, g->established);
    }
  }
}

TEST(ZeekJson, ConnMatchesTheTsvDecoderFieldByField) {
  ExpectSameEvents("conn_008.log", "conn_008.json");
  ZeekJsonDecoder json;
  Decoded b = DecodeAll(json, ReadTestData("conn_008.json"));
  ASSERT_EQ(b.events.size(), 4u);
  EXPECT_EQ(b.events[0].kind, EventKind::kFlow);
  EXPECT_EQ(b.events[0].As<FlowBody>()->orig_bytes, 1596u);
  EXPECT_EQ(b.events[1].As<FlowBody>()->duration, 10);  // written as 1e-05
}

TEST(ZeekJson, DnsMatchesTheTsvDecoderIncludingIpv6) {
  ExpectSameEvents("dns_005.log", "dns_005.json");
  ZeekJsonDecoder json;
  Decoded b = DecodeAll(json, ReadTestData("dns_005.json"));
  ASSERT_EQ(b.events.size(), 7u);
  EXPECT_EQ(b.events[0].time, 13184015);
  EXPECT_EQ(b.events[0].As<DnsBody>()->answers, "131.107.255.255");
  EXPECT_EQ(b.events[2].net.orig_h, *IpAddr::Parse("fe80::28fb:18bd:1770:8699"));
}

TEST(ZeekJson, SslMatchesTheTsvDecoder) {
  ExpectSameEvents("ssl_008.log", "ssl_008.json");
  ZeekJsonDecoder json;
  Decoded b = DecodeAll(json, ReadTestData("ssl_008.json"));
  ASSERT_EQ(b.events.size(), 4u);
  EXPECT_EQ(b.events[1].As<TlsBody>()->version, "TLSv12");
  EXPECT_TRUE(b.events[1].As<TlsBody>()->established);
}

TEST(ZeekJson, DecodesFilesInBothZeekLayouts) {
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, ReadTestData("files_synthetic.json"));
  ASSERT_TRUE(d.rejects.empty()) << d.rejects[0].code;
  ASSERT_EQ(d.events.size(), 2u);
  const Event& e = d.events[0];
  EXPECT_EQ(e.kind, EventKind::kFile);
  EXPECT_EQ(e.time, 1704873600123456);
  EXPECT_EQ(e.uid, "CHhAvVGS1DHFjwGM9");
  EXPECT_EQ(e.net.orig_h_text, "10.20.1.10");
  EXPECT_EQ(e.net.orig_p, 49152);
  EXPECT_EQ(e.net.resp_h_text, "203.0.113.7");
  const FileBody* f = e.As<FileBody>();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->fuid, "FfOgIQ3b0bHbYtm2Kd");
  EXPECT_EQ(f->mime_type, "application/x-dosexec");
  EXPECT_EQ(f->filename, "update.exe");
  EXPECT_EQ(f->md5, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(f->seen_bytes, 73802u);
  EXPECT_EQ(f->total_bytes, 73802u);
  EXPECT_FALSE(f->is_orig);

  const Event& u = d.events[1];
  EXPECT_EQ(u.time, 1704873660000001);  // an ISO 8601 string ts
  EXPECT_EQ(u.uid, "Cw5eVv3yCQ7zDR8Hy9");
  EXPECT_TRUE(u.As<FileBody>()->is_orig);
  EXPECT_EQ(u.net.orig_h_text, "10.20.1.10");
  EXPECT_EQ(u.net.resp_h, *IpAddr::Parse("2001:db8::5"));
}

TEST(ZeekJson, ReadsNestedIdObjectsAndJoinsArrays) {
  std::string text =
      R"({"ts":5.25,"uid":"Cn","id":{"orig_h":"10.1.1.1","orig_p":5353,"resp_h":"2001:db8::53","resp_p":53},"proto":"udp","query":"x.example","qtype_name":"A","rcode_name":"NOERROR","answers":["1.2.3.4","5.6.7.8","a\"b"],"TTLs":[60.0,60.0,60.0],"rejected":false})"
      "\n";
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty()) << d.rejects[0].code;
  ASSERT_EQ(d.events.size(), 1u);
  const Event& e = d.events[0];
  EXPECT_EQ(e.kind, EventKind::kDns);
  EXPECT_EQ(e.time, 5250000);
  EXPECT_EQ(e.net.orig_h_text, "10.1.1.1");
  EXPECT_EQ(e.net.orig_p, 5353);
  EXPECT_EQ(e.net.resp_h, *IpAddr::Parse("2001:db8::53"));
  EXPECT_EQ(e.net.resp_p, 53);
  EXPECT_EQ(e.As<DnsBody>()->answers, "1.2.3.4,5.6.7.8,a\"b");
  EXPECT_GT(GetBuiltStringStats().bytes, 0u);
}

struct BadJson {
  const char* name;
  std::string line;
  const char* code;
};

TEST(ZeekJson, RejectsEachKindOfBadRecordWithCodeLineAndOffset) {
  const std::string good =
      R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp","conn_state":"SF"})"
      "\n";
  const BadJson cases[] = {
      {"truncated",
       R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0.1")"
       "\n",
       "bad-json"},
      {"not json", "hello world\n", "bad-json"},
      {"array", "[1,2,3]\n", "bad-json"},
      {"trailing",
       R"({"ts":1.5,"uid":"Cg","conn_state":"SF"} x)"
       "\n",
       "bad-json"},
      {"bad string",
       R"({"ts":1.5,"uid":"Cg,"conn_state":"SF"})"
       "\n",
       "bad-json"},
      {"ts",
       R"({"ts":"yesterday","uid":"Cg","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
       "\n",
       "bad-timestamp"},
      {"no ts",
       R"({"uid":"Cg","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
       "\n",
       "bad-timestamp"},
      {"addr",
       R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0","id.resp_h":"10.0.0.2","conn_state":"SF"})"
       "\n",
       "bad-address"},
      {"port",
       R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0.1","id.orig_p":70000,"id.resp_h":"10.0.0.2","conn_state":"SF"})"
       "\n",
       "bad-number"},
      {"count",
       R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF","orig_bytes":-3})"
       "\n",
       "bad-number"},
      {"deep field",
       R"({"ts":1.5,"uid":"Cg","x":)" + std::string(100, '[') + std::string(100, ']') + "}\n",
       "too-deep"},
  };
  for (const BadJson& c : cases) {
    SCOPED_TRACE(c.name);
    std::string text = good + c.line + good;
    ZeekJsonDecoder dec;
    Decoded d = DecodeAll(dec, text);
    ASSERT_EQ(d.rejects.size(), 1u);
    EXPECT_EQ(d.rejects[0].code, c.code);
    EXPECT_EQ(d.rejects[0].line, 2u);
    EXPECT_EQ(d.rejects[0].offset, good.size());
    ASSERT_EQ(d.events.size(), 2u);  // neighbours are kept
    EXPECT_EQ(d.events[1].pos.line, 3u);
    EXPECT_EQ(d.events[1].pos.offset, good.size() + c.line.size());
  }
}

TEST(ZeekJson, HundredThousandOpenBracketsAreRejectedAsTooDeep) {
  std::string text =
      std::string(100000, '[') + "\n" +
      R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
      "\n";
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].code, "too-deep");
  EXPECT_EQ(d.rejects[0].line, 1u);
  EXPECT_EQ(d.events.size(), 1u);
  // Nesting at the cap inside a field is accepted; one more level is not.
  auto nested = [](size_t levels) {  // the object itself is level 1
    return R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF","x":)" +
           std::string(levels - 1, '[') + std::string(levels - 1, ']') + "}\n";
  };
  ZeekJsonDecoder dec2;
  Decoded ok = DecodeAll(dec2, nested(kMaxJsonDepth));
  EXPECT_TRUE(ok.rejects.empty());
  EXPECT_EQ(ok.events.size(), 1u);
  Decoded deep = DecodeAll(dec2, nested(kMaxJsonDepth + 1));
  ASSERT_EQ(deep.rejects.size(), 1u);
  EXPECT_EQ(deep.rejects[0].code, "too-deep");
}

TEST(ZeekJson, LineOverTheCapIsRejectedAsTooLong) {
  std::string good =
      R"({"ts":1.5,"uid":"Cg","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
      "\n";
  std::string big = R"({"ts":1.5,"uid":")" + std::string(kMaxRecordBytes, 'u') + "\"}\n";
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, good + big + good);
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].code, "too-long");
  EXPECT_EQ(d.rejects[0].line, 2u);
  EXPECT_EQ(d.rejects[0].offset, good.size());
  EXPECT_EQ(d.events.size(), 2u);
}

TEST(ZeekJson, UnsupportedLogTypeIsRejectedOncePerInput) {
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, ReadTestData("ssh_007.json") + ReadTestData("http_007.json"));
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].code, "unsupported-log");
  EXPECT_EQ(d.rejects[0].line, 1u);
  EXPECT_EQ(d.events.size(), 3u);
}

TEST(ZeekJson, BinaryGarbageBecomesRejectsNotCrashes) {
  std::string garbage;
  uint32_t x = 777;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245 + 12345;
    char c = static_cast<char>(x >> 16);
    if (i % 97 == 0) c = '{';
    garbage.push_back(c);
  }
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, garbage + "\n" + ReadTestData("http_007.json"));
  EXPECT_EQ(d.events.size(), 3u);
  EXPECT_FALSE(d.rejects.empty());
}

TEST(ZeekJson, TruncatedLastLineIsNotAnError) {
  std::string text = ReadTestData("http_007.json");
  std::string cut = text.substr(0, text.size() - 20);
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, cut, /*at_end=*/false);
  EXPECT_TRUE(d.rejects.empty());
  EXPECT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.consumed, text.rfind('\n', text.size() - 2) + 1);
  // With at_end the incomplete object is a reject.
  ZeekJsonDecoder dec2;
  Decoded e = DecodeAll(dec2, cut, /*at_end=*/true);
  ASSERT_EQ(e.rejects.size(), 1u);
  EXPECT_EQ(e.rejects[0].code, "bad-json");
  EXPECT_EQ(e.rejects[0].line, 3u);
}

std::string Summary(const std::vector<Event>& ev, const std::vector<Reject>& rj) {
  std::string out;
  for (const Event& e : ev) {
    out += std::to_string(e.pos.line) + ":" + std::to_string(e.pos.offset) + ":" +
           std::to_string(e.time) + ":" + std::string(e.uid) + ":" + e.net.orig_h.ToString() + ":" +
           std::to_string(e.net.resp_p) + ":" + std::string(e.raw);
    if (auto* h = e.As<HttpBody>()) out += std::string(h->user_agent) + std::string(h->host);
    out += "\n";
  }
  for (const Reject& r : rj)
    out += "R" + std::to_string(r.line) + ":" + std::to_string(r.offset) + r.code + "\n";
  return out;
}

TEST(ZeekJson, SplittingTheInputAtAnyByteGivesIdenticalEvents) {
  std::string text =
      ReadTestData("http_007.json") + "{\"broken\n" + ReadTestData("files_synthetic.json");
  std::string whole;
  {
    ZeekJsonDecoder dec;
    Decoded d = DecodeAll(dec, text);
    whole = Summary(d.events, d.rejects);
    ASSERT_NE(whole.find("bad-json"), std::string::npos);
  }
  for (size_t split = 0; split <= text.size(); ++split) {
    ZeekJsonDecoder dec;
    std::vector<Event> ev;
    std::vector<Reject> rj;
    std::string a = text.substr(0, split) + std::string(kReadPadding, '"');
    size_t used = dec.Decode(std::string_view(a.data(), split), ChunkStart{}, false, ev, rj);
    uint64_t line = 1 + static_cast<uint64_t>(std::count(text.begin(), text.begin() + used, '\n'));
    std::string s = Summary(ev, rj);
    ev.clear();
    rj.clear();
    std::string b = text.substr(used) + std::string(kReadPadding, '"');
    dec.Decode(std::string_view(b.data(), text.size() - used), ChunkStart{0, line, used}, true, ev,
               rj);
    s += Summary(ev, rj);
    // Reorder: rejects of the first chunk print after its events; compare as sets of lines.
    auto sorted = [](std::string x) {
      std::vector<std::string> lines;
      size_t p = 0;
      while (p < x.size()) {
        size_t e = x.find('\n', p);
        lines.push_back(x.substr(p, e - p));
        p = e + 1;
      }
      std::sort(lines.begin(), lines.end());
      return lines;
    };
    ASSERT_EQ(sorted(s), sorted(whole)) << "split at " << split;
  }
}

TEST(ZeekJson, BuiltStringsOutliveTheDecoder) {
  // The pipeline drops a file's decoder while that file's events may still be held.
  std::string text =
      R"({"ts":5.25,"uid":"Cn","id.orig_h":"10.1.1.1","id.resp_h":"10.1.1.2","proto":"udp","query":"x","answers":["1.2.3.4","5.6.7.8"]})"
      "\n"
      R"({"ts":6.25,"uid":"Cu","id.orig_h":"10.1.1.1","id.resp_h":"10.1.1.2","method":"GET","user_agent":"a\\b"})"
      "\n";
  Decoded d;
  {
    auto dec = std::make_unique<ZeekJsonDecoder>();
    d = DecodeAll(*dec, text);
  }
  ASSERT_EQ(d.events.size(), 2u);
  std::string answers(d.events[0].As<DnsBody>()->answers);
  std::string ua(d.events[1].As<HttpBody>()->user_agent);
  EXPECT_EQ(answers, "1.2.3.4,5.6.7.8");
  EXPECT_EQ(ua, "a\\b");
  // Equal built strings share storage.
  ZeekJsonDecoder again;
  Decoded e = DecodeAll(again, text);
  EXPECT_EQ(e.events[0].As<DnsBody>()->answers.data(), d.events[0].As<DnsBody>()->answers.data());
}

TEST(ZeekJson, CanonicalScannerAndSimdjsonPathGiveTheSameResults) {
  std::string text = ReadTestData("http_007.json") + ReadTestData("conn_008.json") +
                     ReadTestData("dns_005.json") + ReadTestData("ssl_008.json") +
                     ReadTestData("files_synthetic.json") + ReadTestData("ssh_007.json");
  // Lines only the simdjson path reads, and lines both must reject.
  text +=
      R"({ "ts" : 1.5, "uid":"Cw", "id.orig_h":"10.0.0.1", "id.resp_h":"10.0.0.2", "conn_state":"SF" })"
      "\n";
  text +=
      R"({"ts":2.5,"uid":"Cu","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","method":"GET","user_agent":"caf\u00e9 \"x\"","host":"h\u00e9"})"
      "\n";
  text +=
      "{\"ts\":3.5,\"uid\":\"Cn\",\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.2\",\"method\":"
      "\"GET\",\"user_agent\":\"\xc3\xa9t\xc3\xa9\"}\n";
  text +=
      "{\"ts\":3.5,\"uid\":\"Cn\",\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.2\",\"method\":"
      "\"GET\",\"user_agent\":\"\xff\xfe\"}\n";
  text +=
      R"({"ts":4.5,"uid":"Ca","id":{"orig_h":"10.0.0.1","orig_p":1,"resp_h":"::2","resp_p":2},"proto":"udp","query":"q","answers":["a","b",7,true]})"
      "\n";
  text += R"({"ts":01,"uid":"Cz","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
          "\n";
  text += R"({"ts":1.,"uid":"Cz","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
          "\n";
  text +=
      R"({"ts":1.5,"uid":"Cz","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF",})"
      "\n";
  text += R"({"ts":1.5,"uid":"Cz","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":tru})"
          "\n";
  text +=
      R"({"ts":1.5,"uid":"Cz","id":{"orig_h":"10.0.0.1"},"id.resp_h":"10.0.0.2","conn_state":"SF","x":{}})"
      "\n";
  text += R"({"ts":1.5,"uid":"Cz","id":{},"conn_state":"SF","x":[[1]]})"
          "\n";
  text += R"({})"
          "\n"
          R"({"a":[)"
          "\n"
          R"({"a":"b"}})"
          "\n";
  ZeekJsonDecoder fast(true), slow(false);
  Decoded a = DecodeAll(fast, text);
  Decoded b = DecodeAll(slow, text);
  EXPECT_EQ(Summary(a.events, a.rejects), Summary(b.events, b.rejects));
  EXPECT_GE(a.events.size(), 28u);
  // The escaped user agent is unescaped on both paths.
  bool saw_escaped = false;
  for (const Event& e : a.events)
    if (e.uid == "Cu") saw_escaped = e.As<HttpBody>()->user_agent == "caf\xc3\xa9 \"x\"";
  EXPECT_TRUE(saw_escaped);
}

// Every field of an event, for comparing the two JSON paths exactly.
std::string Describe(const Event& e) {
  auto v = [](std::string_view s) { return "[" + std::string(s) + "]"; };
  std::string out = std::to_string(e.pos.line) + ":" + std::to_string(e.pos.offset) + " " +
                    std::to_string(static_cast<int>(e.kind)) + " t=" + std::to_string(e.time) +
                    " uid=" + v(e.uid) + " net=" + std::to_string(e.net.valid) + " " +
                    e.net.orig_h.ToString() + v(e.net.orig_h_text) + ":" +
                    std::to_string(e.net.orig_p) + ">" + e.net.resp_h.ToString() +
                    v(e.net.resp_h_text) + ":" + std::to_string(e.net.resp_p) + "/" +
                    std::to_string(static_cast<int>(e.net.proto));
  if (auto* b = e.As<FlowBody>())
    out += " flow" + v(b->service) + v(b->conn_state) + v(b->history) +
           std::to_string(b->duration) + "," + std::to_string(b->has_duration) + "," +
           std::to_string(b->orig_bytes) + "," + std::to_string(b->resp_bytes) + "," +
           std::to_string(b->orig_pkts) + "," + std::to_string(b->resp_pkts);
  if (auto* b = e.As<HttpBody>())
    out += " http" + v(b->method) + v(b->host) + v(b->uri) + v(b->user_agent) + v(b->referrer) +
           std::to_string(b->status_code) + "," + std::to_string(b->request_body_len) + "," +
           std::to_string(b->response_body_len) + v(b->resp_mime_types) + v(b->resp_fuids) +
           v(b->resp_filenames);
  if (auto* b = e.As<DnsBody>())
    out += " dns" + v(b->query) + v(b->qtype_name) + v(b->rcode_name) + v(b->answers) +
           std::to_string(b->rejected);
  if (auto* b = e.As<TlsBody>())
    out += " tls" + v(b->server_name) + v(b->version) + v(b->subject) + v(b->issuer) + v(b->ja3) +
           std::to_string(b->established);
  if (auto* b = e.As<FileBody>())
    out += " file" + v(b->fuid) + v(b->source) + v(b->mime_type) + v(b->filename) + v(b->md5) +
           v(b->sha1) + v(b->sha256) + std::to_string(b->seen_bytes) + "," +
           std::to_string(b->total_bytes) + "," + std::to_string(b->is_orig);
  return out + "\n";
}

std::string DescribeAll(const Decoded& d) {
  std::string out;
  for (const Event& e : d.events) out += Describe(e);
  for (const Reject& r : d.rejects)
    out +=
        "reject " + std::to_string(r.line) + ":" + std::to_string(r.offset) + " " + r.code + "\n";
  return out;
}

TEST(ZeekJson, KeyPredictionAndNumberMasksGiveTheSimdjsonPathsEvents) {
  // The canonical scanner predicts each key from earlier lines' keys; these lines change
  // the layout under it (order, missing and extra keys, keys that share a prefix with a
  // predicted one, the same key inside and outside "id") and give numbers of every shape.
  // Each line must decode exactly as the simdjson path decodes it.
  const std::string conn =
      R"("proto":"tcp","service":"ssl","duration":1.5,"orig_bytes":10,"resp_bytes":20,"conn_state":"SF","history":"ShADadFf","orig_pkts":3,"resp_pkts":4})";
  std::string text;
  auto line = [&](const std::string& s) { text += s + "\n"; };
  // A conn record in Zeek's own key order; `gap` goes before "proto".
  auto canonical = [&](const std::string& ts, const std::string& uid, const char* gap = "") {
    line(R"({"ts":)" + ts + R"(,"uid":")" + uid +
         R"(","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,)" + gap +
         conn);
  };
  canonical("1.25", "C1");
  canonical("2.25", "C2");
  // Reversed order.
  line(
      R"({"resp_pkts":4,"orig_pkts":3,"history":"S","conn_state":"S0","resp_bytes":20,"orig_bytes":10,"duration":0.5,"proto":"udp","id.resp_p":2,"id.resp_h":"10.0.0.2","id.orig_p":1,"id.orig_h":"10.0.0.1","uid":"C3","ts":3})");
  // Missing keys, extra unknown keys, nulls, keys sharing a prefix with predicted ones.
  line(
      R"({"ts":4,"uid":"C4","tsx":9,"id.orig_h":"10.0.0.1","id.orig_hx":"10.9.9.9","id.resp_h":"10.0.0.2","uid2":"X","proto":null,"conn_state":"SF","orig_pkts":5})");
  line(
      R"({"ts":5,"uid":null,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","extra":[1,2,"x"],"conn_state":"REJ","local_orig":true,"local_resp":false})");
  // Nested id: "orig_h" inside it is id.orig_h; a top-level "orig_h" is not.
  line(
      R"({"ts":6,"uid":"C6","id":{"orig_h":"10.0.0.6","orig_p":6,"resp_h":"fe80::1","resp_p":60},"proto":"tcp","conn_state":"SF"})");
  line(
      R"({"ts":7,"uid":"C7","orig_h":"10.9.9.9","id.orig_h":"10.0.0.7","id.resp_h":"10.0.0.2","resp_p":99,"conn_state":"SF"})");
  line(
      R"({"ts":6,"uid":"C6b","id":{"orig_h":"10.0.0.6","orig_p":6,"resp_h":"10.0.0.5","resp_p":60},"conn_state":"SF"})");
  line(
      R"({"ts":6,"uid":"C6c","orig_h":"10.0.0.6","orig_p":6,"resp_h":"10.0.0.5","resp_p":60,"conn_state":"SF"})");
  line(
      R"({"ts":8,"uid":"C8","id":{"orig_h":"10.0.0.8","resp_h":"::ffff:10.0.0.9","x":[1],"y":{}},"conn_state":"SF"})");
  line(
      R"({"ts":8.5,"uid":"C8b","id":{},"id.orig_h":"10.0.0.8","id.resp_h":"10.0.0.9","conn_state":"SF"})");
  // A key as long as a prediction holds (29 bytes) and longer ones.
  line(
      R"({"ts":9,"uid":"C9","abcdefghijklmnopqrstuvwxyz123":1,"abcdefghijklmnopqrstuvwxyz1234":2,"abcdefghijklmnopqrstuvwxyz12345678901234567890":3,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})");
  line(
      R"({"ts":9,"uid":"C9b","abcdefghijklmnopqrstuvwxyz123":1,"abcdefghijklmnopqrstuvwxyz1234":2,"abcdefghijklmnopqrstuvwxyz12345678901234567890":3,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})");
  // More distinct keys than the layout keeps.
  std::string many = R"({"ts":10,"uid":"C10")";
  for (int i = 0; i < 150; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  line(many + R"(,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})");
  canonical("11", "C11");
  // Numbers: the mask's edges (31, 32, 33 bytes), exponents, signs, bad shapes.
  for (const char* num : {"0",
                          "-0",
                          "7",
                          "1.5",
                          "0.000001",
                          "1599755438.238535",
                          "1e5",
                          "1.5E+3",
                          "2e-3",
                          "-1",
                          "-1.5",
                          "12345678901234567890",
                          "123456789012345678901234567890",
                          "1234567890123456789012345678901",
                          "12345678901234567890123456789012",
                          "123456789012345678901234567890123",
                          "1.23456789012345678901234567890",
                          "1.234567890123456789012345678901",
                          "1234567890123456789012345678.123",
                          "01",
                          "1.",
                          "-",
                          ".5",
                          "1.e5",
                          "1e",
                          "+1",
                          "--1",
                          "1.5.5",
                          "0x10",
                          "1 "}) {
    for (const char* field : {"ts", "duration", "orig_bytes", "id.orig_p", "ignored"}) {
      line(
          std::string(
              R"({"ts":12,"uid":"N","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF",")") +
          field + "\":" + num + R"(,"orig_pkts":1})");
    }
  }
  // Other log types, arrays, escapes (simdjson only), then the first layout again.
  text += ReadTestData("http_007.json") + ReadTestData("dns_005.json") +
          ReadTestData("ssl_008.json") + ReadTestData("files_synthetic.json");
  line(
      R"({"ts":13,"uid":"C13","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","proto":"udp","query":"q","answers":["a","b",7,true,1.5],"rejected":false})");
  line(
      R"({"ts":14,"uid":"C14","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","proto":"udp","query":"q\"x","answers":[],"rejected":true})");
  line(
      R"({"ts":15,"uid":"C15","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","method":"GET","user_agent":"a,b:c{d}[e]","uri":"/x?y=1&z=\"2\""})");
  line(
      R"({"ts":16,"uid":"C16","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","method":"GET","user_agent":"a,b:c{d}[e]","uri":"/x?y=1"})");
  line(
      R"({"ts":19,"uid":"H1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","method":"GET","response_body_len":5,"status_code":200})");
  line(
      R"({"ts":20,"uid":"H2","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","method":"GET","response_body_leX":7,"status_code":200})");
  canonical("17", "C17");
  canonical("18", "C18", " ");

  ZeekJsonDecoder fast(true), slow(false);
  Decoded a = DecodeAll(fast, text);
  Decoded b = DecodeAll(slow, text);
  EXPECT_EQ(DescribeAll(a), DescribeAll(b));
  // The test reads what it means to: events from the reordered, nested and sparse lines.
  std::string all = DescribeAll(a);
  for (const char* uid :
       {"[C3]", "[C4]", "[C6]", "[C7]", "[C8]", "[C9b]", "[C10]", "[C11]", "[C16]"})
    EXPECT_NE(all.find(uid), std::string::npos) << uid;
  EXPECT_NE(all.find("10.0.0.7[10.0.0.7]"), std::string::npos);  // not the top-level orig_h
  EXPECT_EQ(all.find("[C6c]"), std::string::npos);  // flat orig_h is not id.orig_h: no address
  EXPECT_NE(
      all.find("[H2] net=1 10.0.0.1[10.0.0.1]:0>10.0.0.2[10.0.0.2]:0/1 http[GET][][][][]200,0,0"),
      std::string::npos);
  EXPECT_GE(a.events.size(), 100u);
  EXPECT_GE(a.rejects.size(), 20u);
}

TEST(ZeekJson, StringsWithSpecialBytesAtEveryPositionGiveTheSimdjsonPathsEvents) {
  // The scanner finds a string's closing quote 32 bytes at a time and gives the line to
  // simdjson when an escape, a control byte or a non-ASCII byte comes first. Put each such
  // byte at every position of strings up to 70 bytes long, with the string starting at every
  // offset from a 32-byte block (the "pad" field's length), in a read field (user_agent),
  // an ignored one, an array element and the uid; each line must decode as simdjson does.
  // ',' ':' and the brackets: the flat-line scanner splits fields at commas outside strings.
  const std::vector<std::string> specials = {"\\\"", "\\\\", "\\n", "\\u00e9", "\x01", "\t", "\xc3\xa9",
                                             "\xff", "\x7f",  "\"",   ",",       ":",    "{",  "}",
                                             "[",    "]",     "\",\""};
  std::string text;
  size_t lines = 0;
  for (size_t len : {0, 1, 15, 16, 17, 30, 31, 32, 33, 47, 63, 64, 65, 70}) {
    for (size_t shift = 0; shift < 32; shift += (len % 3 == 0 ? 1 : 7)) {
      const std::string pad(shift, 'p');
      for (size_t at = 0; at <= len; ++at) {
        for (const std::string& special : specials) {
          std::string value(len, 'a');
          if (at < len) value.replace(at, 1, special);
          const std::string head = R"({"ts":1.5,"pad":")" + pad + R"(","uid":")";
          const std::string addrs = R"(","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2",)";
          text += head + "H" + addrs + R"("method":"GET","user_agent":")" + value + R"(","x":")" +
                  value + R"(","resp_mime_types":[")" + value + R"(","b"]})" + "\n";
          text += head + value + addrs + R"("conn_state":"SF"})" + "\n";
          lines += 2;
          if (at == len) break;  // no special byte: one line is enough
        }
      }
    }
  }
  // A string running into the line's end whatever the read padding holds.
  text += R"({"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"S)";
  ZeekJsonDecoder fast(true), slow(false);
  Decoded a = DecodeAll(fast, text);
  Decoded b = DecodeAll(slow, text);
  // Line by line: a whole-text EXPECT_EQ this large would take gtest's diff too long.
  const std::string da = DescribeAll(a), db = DescribeAll(b);
  size_t pa = 0, pb = 0;
  while (pa < da.size() || pb < db.size()) {
    size_t ea = std::min(da.find('\n', pa), da.size()), eb = std::min(db.find('\n', pb), db.size());
    ASSERT_EQ(da.substr(pa, ea - pa), db.substr(pb, eb - pb));
    pa = ea + 1;
    pb = eb + 1;
  }
  EXPECT_GE(a.events.size(), lines / 4);
  EXPECT_GE(a.rejects.size(), 1u);
}

// Which scanner reads which line: Zeek's own flat lines the flat-line scanner, nested "id"
// objects the canonical scanner, escapes simdjson.
TEST(ZeekJson, EachLineTakesTheCheapestScannerThatCanReadIt) {
  const std::string conn = ReadTestData("conn_008.json");
  const size_t lines = static_cast<size_t>(std::count(conn.begin(), conn.end(), '\n'));
  std::string text = conn;
  text += R"({"ts":4.5,"uid":"Ca","id":{"orig_h":"10.0.0.1","orig_p":1,"resp_h":"::2","resp_p":2},"proto":"udp","conn_state":"SF"})"
          "\n";
  text += R"({"ts":4.5,"uid":"C\u0041","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
          "\n";
  ZeekJsonDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty()) << d.rejects[0].code;
  ASSERT_EQ(d.events.size(), lines + 2);
  if (SimdClassifyLine() != nullptr) {
    EXPECT_EQ(dec.paths().flat, lines);
    EXPECT_EQ(dec.paths().canonical, 1u);
  } else {  // a build below AVX2: no flat-line scanner
    EXPECT_EQ(dec.paths().flat, 0u);
    EXPECT_EQ(dec.paths().canonical, lines + 1);
  }
  EXPECT_EQ(dec.paths().simdjson, 1u);
  EXPECT_EQ(d.events.back().uid, "CA");
}

TEST(ZeekJson, LineEndingInsideAKeyOrNumberIsBadJsonWhateverBytesFollowIt) {
  // The last line ends without a newline; the bytes after it (the read padding) continue
  // it as if the line went on. Both paths must see only the line: a bad-json reject.
  const std::string first =
      R"({"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF"})"
      "\n";
  for (
      const std::string& last :
      {std::string(
           R"({"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state")"),
       std::string(
           R"({"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF","orig_pkts":12)"),
       std::string(
           R"({"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF","duration":1.)"),
       std::string(
           R"({"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"SF","duration":-)"),
       std::string(
           R"({"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","conn_state":"S)")}) {
    for (const std::string& padding :
         {std::string(":\"SF\"}" + std::string(kReadPadding, ' ')), std::string(kReadPadding, '7'),
          std::string("5}") + std::string(kReadPadding, '}'),
          std::string("F\"}") + std::string(kReadPadding, '"')}) {
      SCOPED_TRACE(last + " + " + padding.substr(0, 8));
      std::string text = first + first + last;
      std::string buf = text + padding;
      for (bool fast_path : {true, false}) {
        ZeekJsonDecoder dec(fast_path);
        std::vector<Event> ev;
        std::vector<Reject> rj;
        dec.Decode(std::string_view(buf.data(), text.size()), ChunkStart{}, true, ev, rj);
        EXPECT_EQ(ev.size(), 2u);
        ASSERT_EQ(rj.size(), 1u);
        EXPECT_EQ(rj[0].code, "bad-json");
        EXPECT_EQ(rj[0].line, 3u);
        EXPECT_EQ(rj[0].offset, 2 * first.size());
      }
    }
  }
}

TEST(ZeekSniff, RecognisesTsvByItsSeparatorHeader) {
  EXPECT_EQ(SniffZeekTsv(ReadTestData("conn_008.log"), ""), 100);
  EXPECT_EQ(SniffZeekTsv(ReadTestData("http_007.json"), "http.log"), 0);
  EXPECT_EQ(SniffZeekTsv("1.0\tCa\t10.0.0.1\n", "conn.log"), 0);
}

TEST(ZeekSniff, RecognisesZeekJsonButNotSuricataOrCloudTrail) {
  EXPECT_GT(SniffZeekJson(ReadTestData("http_007.json"), ""), 50);
  EXPECT_GT(SniffZeekJson(ReadTestData("conn_008.json"), ""), 50);
  EXPECT_GT(SniffZeekJson(ReadTestData("ssh_007.json"), ""), 50);  // Zeek, if unsupported
  EXPECT_GT(SniffZeekJson(ReadTestData("files_synthetic.json"), ""), 50);
  EXPECT_GT(SniffZeekJson(R"({"ts":1.0,"uid":"C1","id":{"orig_h":"10.0.0.1"}})", ""), 50);
  // Suricata eve.json (it has "ts"-like "timestamp" and flow ids, and "event_type").
  EXPECT_EQ(
      SniffZeekJson(
          R"({"timestamp":"2023-02-22T01:00:00.000000+0000","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1","ts":1,"uid":"x","id.orig_h":"y"})",
          ""),
      0);
  // CloudTrail, as a Records document and as one record a line.
  EXPECT_EQ(SniffZeekJson(
                R"({"Records":[{"eventVersion":"1.08","eventTime":"2020-09-14T01:19:40Z"}]})", ""),
            0);
  EXPECT_EQ(
      SniffZeekJson(
          R"({"eventVersion":"1.08","ts":1,"uid":"x","id.orig_h":"y","eventSource":"s3.amazonaws.com"})",
          ""),
      0);
  EXPECT_EQ(SniffZeekJson(ReadTestData("conn_008.log"), ""), 0);
  EXPECT_EQ(SniffZeekJson("", ""), 0);
  EXPECT_EQ(SniffZeekJson("{\"ts\":1}", ""), 0);
}

TEST(ZeekSniff, RegistrySniffPicksTheRightZeekFormat) {
  const FormatInfo* json =
      FormatRegistry::Global().Sniff(ReadTestData("http_007.json"), "http.log");
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(json->name, "zeek-json");
  EXPECT_EQ(json->make()->format(), "zeek-json");
  const FormatInfo* tsv = FormatRegistry::Global().Sniff(ReadTestData("dns_005.log"), "dns.log");
  ASSERT_NE(tsv, nullptr);
  EXPECT_EQ(tsv->name, "zeek-tsv");
}

}  // namespace
}  // namespace vigil::ingest::zeek

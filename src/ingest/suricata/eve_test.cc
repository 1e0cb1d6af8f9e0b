#include "ingest/suricata/eve.h"

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "ingest/registry.h"

namespace vigil::ingest::suricata {
namespace {

// Decoder input must be followed by kReadPadding readable bytes: keep test text in a string
// with spare capacity after it.
struct Decoded {
  std::string storage;
  std::vector<Event> events;
  std::vector<Reject> rejects;
  size_t consumed = 0;
};

Decoded DecodeAll(std::string text, EveDecoder& d, bool at_end = true) {
  Decoded out;
  out.storage = std::move(text);
  size_t n = out.storage.size();
  out.storage.append(kReadPadding, '\0');
  std::string_view data(out.storage.data(), n);
  out.consumed = d.Decode(data, ChunkStart{3, 1, 0}, at_end, out.events, out.rejects);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kExcerpt = VIGIL_SOURCE_DIR "/tests/data/suricata/eve-excerpt.json";

TEST(SuricataEve, RealExcerptDecodesEveryReadableTypeAndCountsOthersOnce) {
  EveDecoder d;
  Decoded r = DecodeAll(ReadFile(kExcerpt), d);
  ASSERT_FALSE(r.storage.empty());
  std::map<EventKind, int> kinds;
  for (const auto& e : r.events) kinds[e.kind]++;
  EXPECT_EQ(kinds[EventKind::kIdsAlert], 8);
  EXPECT_EQ(kinds[EventKind::kFlow], 12);
  EXPECT_EQ(kinds[EventKind::kDns], 7);
  EXPECT_EQ(kinds[EventKind::kHttp], 4);
  EXPECT_EQ(kinds[EventKind::kFile], 3);
  EXPECT_EQ(kinds[EventKind::kTls], 1);
  // Three anomaly records: one reject, on the line of the first.
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].code, "unsupported-event-type");
  EXPECT_EQ(r.rejects[0].line, 33u);
  EXPECT_EQ(r.rejects[0].input, 3u);
}

TEST(SuricataEve, AlertKeepsSignatureSidSeverityAndTuple) {
  EveDecoder d;
  Decoded r = DecodeAll(ReadFile(kExcerpt), d);
  const Event& e = r.events.at(0);
  ASSERT_EQ(e.kind, EventKind::kIdsAlert);
  EXPECT_EQ(e.time, *ParseIso8601("2021-06-06T13:59:46.457984Z"));
  EXPECT_EQ(e.uid, "1374195536821504");
  EXPECT_EQ(e.net.orig_h_text, "78.36.196.213");
  EXPECT_EQ(e.net.resp_h_text, "192.168.1.129");
  EXPECT_EQ(e.net.orig_p, 51698);
  EXPECT_EQ(e.net.resp_p, 445);
  EXPECT_EQ(e.net.proto, Proto::kTcp);
  const auto* a = e.As<IdsAlertBody>();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->signature, "ET CINS Active Threat Intelligence Poor Reputation IP group 89");
  EXPECT_EQ(a->signature_id, 2403388u);
  EXPECT_EQ(a->rev, 66418u);
  EXPECT_EQ(a->category, "Misc Attack");
  EXPECT_EQ(a->severity, 2);
  EXPECT_EQ(a->action, "allowed");
  EXPECT_EQ(e.pos.line, 1u);
  EXPECT_EQ(e.pos.offset, 0u);
}

// Suricata logs a rule's metadata with the alert (eve alert "metadata: yes", the default);
// Emerging Threats rules carry their ATT&CK technique there. Ids that are not technique ids
// are dropped; an alert without metadata has none.
TEST(SuricataEve, AlertCarriesTheRulesAttackTechniquesFromItsMetadata) {
  EveDecoder d;
  Decoded r = DecodeAll(
      R"({"timestamp":"2024-03-05T10:00:00.000000+0000","event_type":"alert","src_ip":"10.0.0.5","src_port":51000,)"
      R"("dest_ip":"203.0.113.7","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,)"
      R"("signature_id":2027863,"rev":3,"signature":"ET MALWARE Cobalt Strike Beacon","category":"A Network Trojan was detected",)"
      R"("severity":1,"metadata":{"affected_product":["Windows_XP_Vista_7_8_10_Server_32_64_Bit"],)"
      R"("mitre_tactic_id":["TA0011"],"mitre_technique_id":["T1071","T1573.002","not-a-technique","T"]}}})"
      "\n"
      R"({"timestamp":"2024-03-05T10:00:01.000000+0000","event_type":"alert","src_ip":"10.0.0.5","src_port":51001,)"
      R"("dest_ip":"203.0.113.7","dest_port":443,"proto":"TCP","alert":{"action":"allowed","signature_id":1,)"
      R"("signature":"local rule","category":"","severity":3,"metadata":{"mitre_technique_id":"T1071"}}})"
      "\n",
      d);
  ASSERT_EQ(r.events.size(), 2u) << (r.rejects.empty() ? "" : r.rejects[0].reason);
  EXPECT_EQ(r.events[0].As<IdsAlertBody>()->mitre_techniques, "T1071,T1573.002");
  EXPECT_EQ(r.events[1].As<IdsAlertBody>()->mitre_techniques, "");  // not an array: ignored
}

TEST(SuricataEve, FlowTimeIsFlowStartWithDurationAndCounts) {
  EveDecoder d;
  std::string line =
      R"({"timestamp":"2021-06-06T15:57:37.272281+0200","flow_id":445348883402532,"event_type":"flow","src_ip":"192.168.1.132","src_port":1900,"dest_ip":"192.168.1.129","dest_port":44232,"proto":"UDP","app_proto":"failed","flow":{"pkts_toserver":12,"pkts_toclient":0,"bytes_toserver":4056,"bytes_toclient":0,"start":"2021-06-06T16:38:55.855844+0200","end":"2021-06-06T16:38:56.963027+0200","age":1,"state":"new","reason":"timeout","alerted":false},"host":"stratosphere.org"})";
  Decoded r = DecodeAll(line + "\n", d);
  ASSERT_EQ(r.events.size(), 1u);
  const Event& e = r.events[0];
  EXPECT_EQ(e.time, *ParseIso8601("2021-06-06T14:38:55.855844Z"));
  const auto* f = e.As<FlowBody>();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->orig_pkts, 12u);
  EXPECT_EQ(f->orig_bytes, 4056u);
  EXPECT_EQ(f->resp_bytes, 0u);
  EXPECT_TRUE(f->has_duration);
  EXPECT_EQ(f->duration, 1'107'183);
  EXPECT_EQ(f->conn_state, "new");
  EXPECT_EQ(f->service, "");  // "failed" is not a service
  EXPECT_EQ(e.net.proto, Proto::kUdp);
}

TEST(SuricataEve, DnsAnswersAreJoinedAndHttpFieldsMapped) {
  EveDecoder d;
  Decoded r = DecodeAll(ReadFile(kExcerpt), d);
  const Event* answer = nullptr;
  const Event* http = nullptr;
  for (const auto& e : r.events) {
    if (e.pos.line == 38) answer = &e;
    if (e.kind == EventKind::kHttp && !http) http = &e;
  }
  ASSERT_NE(answer, nullptr);
  const auto* dn = answer->As<DnsBody>();
  ASSERT_NE(dn, nullptr);
  EXPECT_EQ(dn->query, "www.myedimax.com");
  EXPECT_EQ(dn->qtype_name, "A");
  EXPECT_EQ(dn->rcode_name, "NOERROR");
  EXPECT_EQ(dn->answers, "ddns.myedimax.com,ns.myedimax.com,122.248.252.67");
  ASSERT_NE(http, nullptr);
  const auto* h = http->As<HttpBody>();
  EXPECT_EQ(h->host, "147.32.82.197");
  EXPECT_FALSE(h->method.empty());
  EXPECT_FALSE(h->uri.empty());
}

TEST(SuricataEve, FileinfoTupleIsPutBackInConnectionOrder) {
  EveDecoder d;
  Decoded r = DecodeAll(ReadFile(kExcerpt), d);
  const Event* served = nullptr;  // 192.168.1.129:554 -> 162.142.125.53 in the record
  for (const auto& e : r.events)
    if (e.kind == EventKind::kFile && e.uid == "482525783043092") served = &e;
  ASSERT_NE(served, nullptr);
  EXPECT_EQ(served->net.orig_h_text, "162.142.125.53");
  EXPECT_EQ(served->net.resp_h_text, "192.168.1.129");
  EXPECT_EQ(served->net.resp_p, 554);
  const auto* f = served->As<FileBody>();
  EXPECT_FALSE(f->is_orig);
  EXPECT_EQ(f->mime_type, "text/html");  // no magic: the HTTP content type
  EXPECT_EQ(f->seen_bytes, 47u);
  EXPECT_EQ(f->source, "http");
}

TEST(SuricataEve, TlsCarriesSniVersionAndJa3) {
  EveDecoder d;
  Decoded r = DecodeAll(ReadFile(kExcerpt), d);
  const Event* tls = nullptr;
  for (const auto& e : r.events)
    if (e.kind == EventKind::kTls) tls = &e;
  ASSERT_NE(tls, nullptr);
  const auto* t = tls->As<TlsBody>();
  EXPECT_EQ(t->server_name, "www.myedimax.com");
  EXPECT_EQ(t->version, "TLS 1.1");
  EXPECT_EQ(t->ja3, "b7202231ff2db28363c109cedc6d1642");
  EXPECT_EQ(t->issuer, "C=BE, O=GlobalSign nv-sa, CN=AlphaSSL CA - SHA256 - G2");
}

TEST(SuricataEve, EscapedStringsAreUnescapedAndOutliveTheParser) {
  EveDecoder d;
  Decoded r = DecodeAll(
      R"({"timestamp":"2024-01-01T00:00:00.000000+0000","flow_id":7,"event_type":"http","src_ip":"10.0.0.5","src_port":40000,"dest_ip":"203.0.113.9","dest_port":80,"proto":"TCP","http":{"hostname":"x.example","url":"\/a\/b?q=\"1\"","http_user_agent":"curl\/7.68.0 \u00e9","http_method":"GET","status":200,"length":10}})"
      "\n"
      R"({"timestamp":"2024-01-01T00:00:01.000000+0000","flow_id":8,"event_type":"http","src_ip":"10.0.0.5","src_port":40001,"dest_ip":"203.0.113.9","dest_port":80,"proto":"TCP","http":{"hostname":"y.example","url":"\/c","http_method":"GET"}})"
      "\n",
      d);
  ASSERT_EQ(r.events.size(), 2u);
  const auto* h = r.events[0].As<HttpBody>();
  EXPECT_EQ(h->uri, "/a/b?q=\"1\"");
  EXPECT_EQ(h->user_agent, "curl/7.68.0 \xC3\xA9");
  EXPECT_EQ(h->status_code, 200);
  EXPECT_EQ(r.events[1].As<HttpBody>()->uri, "/c");
}

TEST(SuricataEve, BadRecordsAreRejectedWithCodeLineAndOffset) {
  EveDecoder d;
  std::string ok =
      R"({"timestamp":"2024-01-01T00:00:00+00:00","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":2,"proto":"TCP","flow":{}})";
  std::string text = ok + "\n" +                                               // line 1
                     "{not json\n" +                                           // 2
                     R"({"timestamp":"yesterday","event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2"})" "\n" +  // 3
                     R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"dns","src_ip":"nope","dest_ip":"10.0.0.2"})" "\n" +  // 4
                     R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"flow","src_ip":"10.0.0.1","src_port":70000,"dest_ip":"10.0.0.2"})" "\n" +  // 5
                     R"({"timestamp":"2024-01-01T00:00:00Z","src_ip":"10.0.0.1"})" "\n" +  // 6
                     "[1,2,3]\n" +                                             // 7
                     R"({"event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2"})" "\n" +  // 8
                     R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","alert":{"signature_id":-4}})" "\n";  // 9
  Decoded r = DecodeAll(text, d);
  ASSERT_EQ(r.events.size(), 1u);
  ASSERT_EQ(r.rejects.size(), 8u);
  std::vector<std::pair<std::string, uint64_t>> got;
  for (const auto& j : r.rejects) got.emplace_back(j.code, j.line);
  std::vector<std::pair<std::string, uint64_t>> want = {
      {"bad-json", 2},      {"bad-timestamp", 3}, {"bad-address", 4}, {"bad-number", 5},
      {"missing-field", 6}, {"bad-json", 7},      {"missing-field", 8}, {"bad-number", 9}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(r.rejects[0].offset, ok.size() + 1);
  EXPECT_EQ(r.rejects[0].input, 3u);
  EXPECT_EQ(r.rejects[0].snippet, "{not json");
}

TEST(SuricataEve, NestingBeyondTheDepthCapIsTooDeep) {
  EveDecoder d;
  std::string deep = R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"flow","x":)";
  for (int i = 0; i < 100'000; ++i) deep += "[";
  for (int i = 0; i < 100'000; ++i) deep += "]";
  deep += "}\n";
  std::string shallow = R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"stats","x":)";
  for (size_t i = 0; i < kMaxJsonDepth - 2; ++i) shallow += "[";
  for (size_t i = 0; i < kMaxJsonDepth - 2; ++i) shallow += "]";
  shallow += "}\n";
  Decoded r = DecodeAll(deep + shallow, d);
  ASSERT_EQ(r.rejects.size(), 2u);
  EXPECT_EQ(r.rejects[0].code, "too-deep");
  EXPECT_EQ(r.rejects[0].line, 1u);
  EXPECT_EQ(r.rejects[1].code, "unsupported-event-type");  // within the cap: parses
}

TEST(SuricataEve, UnsupportedTypesAreReportedOncePerType) {
  EveDecoder d;
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"stats","stats":{"uptime":1}})" "\n";
  text += R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"anomaly","anomaly":{}})" "\n";
  Decoded r = DecodeAll(text, d);
  ASSERT_EQ(r.rejects.size(), 2u);
  EXPECT_EQ(r.rejects[0].line, 1u);
  EXPECT_EQ(r.rejects[1].line, 51u);
  // A second chunk of the same input does not report stats again.
  Decoded r2 = DecodeAll(R"({"timestamp":"2024-01-01T00:00:00Z","event_type":"stats"})" "\n", d);
  EXPECT_TRUE(r2.rejects.empty());
}

TEST(SuricataEve, IncompleteLastLineWaitsForMoreBytes) {
  EveDecoder d;
  std::string ok =
      R"({"timestamp":"2024-01-01T00:00:00Z","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":2,"proto":"TCP"})";
  Decoded r = DecodeAll(ok + "\n" + ok.substr(0, 40), d, /*at_end=*/false);
  EXPECT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.consumed, ok.size() + 1);
}

TEST(SuricataEve, SniffRecognisesEveAndNotOtherJson) {
  std::string head = ReadFile(kExcerpt).substr(0, 4096);
  EXPECT_GT(SniffEve(head, "eve.json"), 50);
  EXPECT_EQ(SniffEve(R"({"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"})", "conn.log"), 0);
  EXPECT_EQ(SniffEve("#separator \\x09\n", "conn.log"), 0);
  const FormatInfo* f = FormatRegistry::Global().Sniff(head, "x.json");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "suricata-eve");
}

TEST(SuricataEve, ArenaStopsGrowingAtItsCap) {
  EveArena a(10);
  std::string_view out;
  EXPECT_TRUE(a.Intern("12345", out));
  EXPECT_EQ(out, "12345");
  EXPECT_TRUE(a.Intern("12345", out));  // deduplicated: no growth
  EXPECT_EQ(a.bytes(), 5u);
  EXPECT_FALSE(a.Intern("abcdefgh", out));
  EXPECT_EQ(a.bytes(), 5u);
}

}  // namespace
}  // namespace vigil::ingest::suricata

namespace vigil::ingest::suricata {
namespace {

TEST(SuricataEve, UnescapedStringsOutliveTheDecoder) {
  Decoded r;
  {
    EveDecoder d;
    r = DecodeAll(
        R"({"timestamp":"2024-01-01T00:00:00Z","flow_id":9,"event_type":"http","src_ip":"10.0.0.5","src_port":1,"dest_ip":"203.0.113.9","dest_port":80,"proto":"TCP","http":{"hostname":"z.example","url":"\/only\/in\/the\/arena"}})" "\n",
        d);
  }
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].As<HttpBody>()->uri, "/only/in/the/arena");
}

}  // namespace
}  // namespace vigil::ingest::suricata

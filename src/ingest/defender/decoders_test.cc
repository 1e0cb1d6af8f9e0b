// Tests of the "defender-alerts" and "defender-hunting" decoders against documented
// examples (tests/data/defender/README.md) and hand-made bad input.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "ingest/defender/alerts.h"
#include "ingest/defender/hunting.h"
#include "ingest/registry.h"

namespace vigil::ingest::defender {
namespace {

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/tests/data/defender/" + name,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Decoded {
  std::string buf;  // input plus kReadPadding bytes
  std::vector<Event> events;
  std::vector<Reject> rejects;
  size_t consumed = 0;
};

Decoded DecodeAll(Decoder& d, std::string text, bool at_end = true) {
  Decoded out;
  out.buf = std::move(text);
  size_t n = out.buf.size();
  out.buf.append(kReadPadding, '\0');
  out.consumed = d.Decode(std::string_view(out.buf.data(), n), ChunkStart{3, 1, 0}, at_end,
                          out.events, out.rejects);
  return out;
}

TEST(DefenderAlerts, DocumentedPageGivesOneAlertWithDeviceEvidence) {
  AlertsDecoder d;
  auto r = DecodeAll(d, ReadData("alerts_v2_page.json"));
  ASSERT_TRUE(r.rejects.empty()) << r.rejects[0].reason;
  ASSERT_EQ(r.events.size(), 1u);
  const Event& e = r.events[0];
  EXPECT_EQ(e.kind, EventKind::kEdrAlert);
  const auto* a = e.As<EdrAlertBody>();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->alert_id, "da637551227677560813_-961444813");
  EXPECT_EQ(e.uid, a->alert_id);
  EXPECT_EQ(a->incident_id, "28282");
  EXPECT_EQ(a->title, "Suspicious execution of hidden file");
  EXPECT_EQ(a->severity, "low");
  EXPECT_EQ(a->category, "DefenseEvasion");
  EXPECT_EQ(a->status, "new");
  EXPECT_EQ(a->detection_source, "antivirus");
  EXPECT_EQ(a->service_source, "microsoftDefenderForEndpoint");
  EXPECT_EQ(a->mitre_techniques, "T1564.001");
  EXPECT_EQ(a->device_id, "73e7e2de709dff64ef64b1d0c30e67fab63279db");
  EXPECT_EQ(a->device_name, "tempDns");
  EXPECT_EQ(a->device_ips, "1.1.1.1");
  EXPECT_EQ(a->web_url,
            "https://security.microsoft.com/alerts/da637551227677560813_-961444813"
            "?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c");  // "\/" unescaped
  EXPECT_EQ(a->created, *ParseIso8601("2021-04-27T12:19:27.7211305Z"));
  EXPECT_EQ(a->first_activity, *ParseIso8601("2021-04-26T07:45:50.116Z"));
  // Event time is the last update, not the creation.
  EXPECT_EQ(e.time, *ParseIso8601("2021-05-02T14:19:01.3266667Z"));
  EXPECT_EQ(a->evidence.front(), '[');
  EXPECT_NE(a->evidence.find("registryKeyEvidence"), std::string_view::npos);
  EXPECT_EQ(e.raw.front(), '{');
  EXPECT_EQ(e.raw.back(), '}');
  EXPECT_NE(e.raw.find("\"systemTags\""), std::string_view::npos);
  EXPECT_EQ(e.pos.input, 3u);
  EXPECT_EQ(e.pos.offset, 10u);  // {"value":[ is 10 bytes
}

TEST(DefenderAlerts, IncidentPageWithExpandedAlertsGivesEachAlert) {
  AlertsDecoder d;
  auto r = DecodeAll(d, ReadData("incidents_expand_alerts.json"));
  ASSERT_TRUE(r.rejects.empty()) << r.rejects[0].code << " " << r.rejects[0].reason;
  ASSERT_GE(r.events.size(), 1u);
  for (const auto& e : r.events) {
    const auto* a = e.As<EdrAlertBody>();
    ASSERT_NE(a, nullptr);
    EXPECT_FALSE(a->alert_id.empty());
    EXPECT_FALSE(a->title.empty());
    EXPECT_EQ(a->incident_id, "29");
    EXPECT_GT(e.pos.line, 1u);  // pretty-printed: the alert is not on the first line
  }
}

TEST(DefenderAlerts, JsonLinesOfAlertsKeepLinesAndRejectBadOnesAlone) {
  std::string lines =
      "{\"id\":\"a1\",\"title\":\"T1\",\"severity\":\"high\",\"createdDateTime\":"
      "\"2024-01-01T00:00:00Z\",\"mitreTechniques\":[\"T1059\",\"T1105\"],"
      "\"evidence\":[{\"@odata.type\":\"#microsoft.graph.security.deviceEvidence\","
      "\"mdeDeviceId\":\"dev1\",\"deviceDnsName\":\"h1\",\"ipInterfaces\":[\"10.0.0.5\","
      "\"fe80::1\"]}]}\n"
      "{\"title\":\"no id\",\"createdDateTime\":\"2024-01-01T00:00:00Z\"}\n"
      "{\"id\":\"a3\",\"createdDateTime\":\"yesterday\"}\n"
      "{\"id\":\"a4\", \"title\": \"broken\n"
      "{\"id\":\"a5\",\"lastUpdateDateTime\":\"2024-01-02T00:00:00Z\",\"createdDateTime\":"
      "\"2024-01-01T00:00:00Z\"}\n";
  AlertsDecoder d;
  auto r = DecodeAll(d, lines);
  ASSERT_EQ(r.events.size(), 2u);
  const auto* a = r.events[0].As<EdrAlertBody>();
  EXPECT_EQ(a->mitre_techniques, "T1059,T1105");
  EXPECT_EQ(a->device_ips, "10.0.0.5,fe80::1");
  EXPECT_EQ(a->device_id, "dev1");
  EXPECT_EQ(r.events[0].pos.line, 1u);
  EXPECT_EQ(r.events[1].As<EdrAlertBody>()->alert_id, "a5");
  EXPECT_EQ(r.events[1].time, *ParseIso8601("2024-01-02T00:00:00Z"));
  EXPECT_EQ(r.events[1].pos.line, 5u);
  ASSERT_EQ(r.rejects.size(), 3u);
  EXPECT_EQ(r.rejects[0].code, "missing-id");
  EXPECT_EQ(r.rejects[0].line, 2u);
  EXPECT_EQ(r.rejects[1].code, "bad-timestamp");
  EXPECT_EQ(r.rejects[1].line, 3u);
  // A raw newline inside a string ends the broken record; the next line is read.
  EXPECT_EQ(r.rejects[2].code, "bad-json");
  EXPECT_EQ(r.rejects[2].line, 4u);
}

TEST(DefenderAlerts, MalformedPageIsOneRejectWithItsPosition) {
  std::string text =
      "\n\n{\"value\":[{\"id\":\"a1\",\"createdDateTime\":\"2024-01-01T00:00:00Z\"},"
      "{\"id\":\"x\",,\"createdDateTime\":\"2024-01-01T00:00:00Z\"}]}\n";
  AlertsDecoder d;
  auto r = DecodeAll(d, text);
  // All or nothing: the good alert before the break is not kept either.
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].code, "bad-json");
  EXPECT_EQ(r.rejects[0].line, 3u);
  EXPECT_GE(r.rejects[0].offset, 2u);
  EXPECT_EQ(r.rejects[0].input, 3u);
}

TEST(DefenderAlerts, BadAlertInsideAPageIsRejectedAloneAndTheOthersKept) {
  std::string text =
      "{\"value\":[{\"id\":\"a1\",\"createdDateTime\":\"2024-01-01T00:00:00Z\"},\n"
      "{\"id\":\"a2\",\"createdDateTime\":\"never\"},\n"
      "{\"id\":\"a3\",\"createdDateTime\":\"2024-01-01T00:00:01Z\"}]}";
  AlertsDecoder d;
  auto r = DecodeAll(d, text);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1].pos.line, 3u);
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].code, "bad-timestamp");
  EXPECT_EQ(r.rejects[0].line, 2u);
  EXPECT_EQ(r.rejects[0].offset, text.find("{\"id\":\"a2"));
}

TEST(DefenderAlerts, IncompleteTailIsNotConsumedUntilTheEnd) {
  std::string text = "{\"id\":\"a1\",\"createdDateTime\":\"2024-01-01T00:00:00Z\"}\n{\"id\":\"a2\",";
  AlertsDecoder d;
  auto r = DecodeAll(d, text, /*at_end=*/false);
  EXPECT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.consumed, text.find("\n{") + 1);
  AlertsDecoder d2;
  auto r2 = DecodeAll(d2, text, /*at_end=*/true);
  ASSERT_EQ(r2.rejects.size(), 1u);
  EXPECT_EQ(r2.rejects[0].code, "truncated");
  EXPECT_EQ(r2.rejects[0].line, 2u);
}

TEST(DefenderAlerts, DeeplyNestedInputIsRejectedNotCrashed) {
  std::string text = "{\"id\":\"a\",\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  AlertsDecoder d;
  auto r = DecodeAll(d, text);
  EXPECT_TRUE(r.events.empty() || r.rejects.empty());  // must not crash
  EXPECT_EQ(r.consumed, text.size());
}

TEST(DefenderJson, ValueLongerThanTheCapIsRejectedAndTheNextKept) {
  std::string text = "{\"a\":\"" + std::string(200, 'x') + "\"}\n{\"b\":1}\n";
  std::vector<Reject> rejects;
  std::vector<std::string> seen;
  size_t used = ForEachJsonValue(text, ChunkStart{0, 1, 0}, true, 100, rejects,
                                 [&](const JsonValueSpan& v) { seen.emplace_back(v.text); });
  EXPECT_EQ(used, text.size());
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, "too-long");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "{\"b\":1}");
}

TEST(DefenderJson, ArenaStopsGrowingAtItsCap) {
  StringArena arena(10);
  std::string_view out;
  EXPECT_TRUE(arena.Intern("abcdef", out));
  EXPECT_EQ(out, "abcdef");
  EXPECT_TRUE(arena.Intern("abcdef", out));  // deduplicated: no growth
  EXPECT_EQ(arena.bytes(), 6u);
  EXPECT_FALSE(arena.Intern("ghijkl", out));
  EXPECT_TRUE(arena.full());
}

TEST(DefenderJson, UnescapesSurrogatePairsAndRejectsBadEscapes) {
  std::string out;
  ASSERT_TRUE(UnescapeJson("C:\\\\Temp \\ud83d\\ude00 \\u00e9", out));
  EXPECT_EQ(out, "C:\\Temp \xF0\x9F\x98\x80 \xC3\xA9");
  EXPECT_FALSE(UnescapeJson("bad \\q", out));
}

TEST(DefenderHunting, RowsBecomeTypedEvents) {
  HuntingDecoder d;
  auto r = DecodeAll(d, ReadData("hunting_rows.jsonl"));
  ASSERT_TRUE(r.rejects.empty()) << r.rejects[0].code << " " << r.rejects[0].reason;
  ASSERT_EQ(r.events.size(), 5u);
  const auto* info = r.events[0].As<DeviceInfoBody>();
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->os_platform, "Ubuntu");
  EXPECT_EQ(info->os_version, "22.04");
  EXPECT_EQ(info->public_ip, "203.0.113.7");
  const auto* net = r.events[1].As<DeviceNetworkBody>();
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(net->ip_addresses, "10.1.2.3,fe80::215:5dff:fe01:203");
  const auto* p = r.events[2].As<ProcessBody>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(r.events[2].kind, EventKind::kProcess);
  EXPECT_EQ(p->file_name, "bash");
  EXPECT_EQ(p->parent_file_name, "node");
  EXPECT_EQ(p->command_line, "bash -c \"id; uname -a\"");
  EXPECT_EQ(p->process_id, 4242u);
  EXPECT_EQ(p->parent_process_id, 1200u);
  EXPECT_EQ(r.events[2].pos.line, 3u);
  const auto* f = r.events[3].As<FileActivityBody>();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->folder_path, "C:\\Users\\bob\\AppData\\Local\\Temp\\payload.exe");
  const auto* v = r.events[4].As<VulnerabilityBody>();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->cve_id, "CVE-2023-0286");
  EXPECT_EQ(v->severity, "High");
  // No Timestamp in TVM rows: the latest time seen in the input.
  EXPECT_EQ(r.events[4].time, *ParseIso8601("2024-03-01T10:06:00Z"));
}

TEST(DefenderHunting, StreamingEnvelopeRecordsAreReadAndOtherTablesRejected) {
  HuntingDecoder d;
  auto r = DecodeAll(d, ReadData("hunting_streaming.json"));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].kind, EventKind::kProcess);
  EXPECT_EQ(r.events[0].As<ProcessBody>()->parent_file_name, "php-fpm8.1");
  EXPECT_EQ(r.events[0].time, *ParseIso8601("2024-03-01T11:00:00.123456Z"));
  EXPECT_EQ(r.events[1].kind, EventKind::kDeviceInfo);
  EXPECT_EQ(r.events[1].As<DeviceInfoBody>()->os_build, "22631");
  EXPECT_GT(r.events[1].pos.offset, r.events[0].pos.offset);
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].code, "unsupported-table");
  EXPECT_NE(r.rejects[0].reason.find("DeviceLogonEvents"), std::string::npos);
}

TEST(DefenderHunting, VulnerabilityExportPageIsRead) {
  HuntingDecoder d;
  auto r = DecodeAll(d, ReadData("vulnerabilities_by_machine.json"));
  ASSERT_TRUE(r.rejects.empty()) << r.rejects[0].code << " " << r.rejects[0].reason;
  ASSERT_EQ(r.events.size(), 5u);
  const auto* v = r.events[0].As<VulnerabilityBody>();
  EXPECT_EQ(v->software_name, "edge");
  EXPECT_EQ(v->device_id, "00044f612345daf756462bde6bd733b9a9c59ab4");
  EXPECT_TRUE(v->cve_id.empty());
  EXPECT_EQ(r.events[0].time, *ParseIso8601("2020-12-30T14:17:26Z"));
  EXPECT_EQ(r.events[1].As<VulnerabilityBody>()->software_name, ".net_framework");
  EXPECT_GT(r.events[1].pos.line, r.events[0].pos.line);
}

TEST(DefenderHunting, UnknownTableRowsFromOtrfAreRejectedWithPosition) {
  HuntingDecoder d;
  auto r = DecodeAll(d, ReadData("otrf_device_events.jsonl"));
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.rejects.size(), 2u);
  EXPECT_EQ(r.rejects[0].code, "unsupported-table");
  EXPECT_EQ(r.rejects[1].line, 2u);
}

TEST(DefenderHunting, BadTimestampAndNonJsonAreRejected) {
  HuntingDecoder d;
  auto r = DecodeAll(d,
               "not json at all\n"
               "{\"Timestamp\":\"soon\",\"DeviceId\":\"x\",\"ActionType\":\"ProcessCreated\"}\n");
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.rejects.size(), 2u);
  EXPECT_EQ(r.rejects[0].code, "not-json");
  EXPECT_EQ(r.rejects[0].line, 1u);
  EXPECT_EQ(r.rejects[1].code, "bad-timestamp");
  EXPECT_EQ(r.rejects[1].line, 2u);
  EXPECT_EQ(r.rejects[1].offset, 16u);
}

TEST(DefenderFormats, SniffersRecogniseTheirOwnAndNotEachOther) {
  auto& reg = FormatRegistry::Global();
  ASSERT_NE(reg.Find("defender-alerts"), nullptr);
  ASSERT_NE(reg.Find("defender-hunting"), nullptr);
  std::string page = ReadData("alerts_v2_page.json");
  std::string rows = ReadData("hunting_rows.jsonl");
  std::string stream = ReadData("hunting_streaming.json");
  EXPECT_GT(SniffDefenderAlerts(page, "x.json"), 50);
  EXPECT_LE(SniffDefenderHunting(page, "x.json"), 50);
  EXPECT_GT(SniffDefenderAlerts(ReadData("incidents_expand_alerts.json"), "x.json"), 50);
  EXPECT_GT(SniffDefenderHunting(rows, "x.json"), 50);
  EXPECT_LE(SniffDefenderAlerts(rows, "x.json"), 50);
  EXPECT_GT(SniffDefenderHunting(stream, "x.json"), 50);
  EXPECT_GT(SniffDefenderHunting(ReadData("vulnerabilities_by_machine.json"), "x"), 50);
}

}  // namespace
}  // namespace vigil::ingest::defender

#include "ingest/zeek/zeek_tsv.h"

#include <gtest/gtest.h>

#include "ingest/registry.h"
#include "ingest/zeek/zeek_test_util.h"

namespace vigil::ingest::zeek {
namespace {

using testing::DecodeAll;
using testing::Decoded;
using testing::ReadTestData;

// Byte offset of the line that starts with `prefix` (the test data's own bytes).
uint64_t OffsetOf(const std::string& text, const std::string& prefix) {
  size_t p = text.find("\n" + prefix);
  return p == std::string::npos ? ~uint64_t{0} : p + 1;
}

TEST(ZeekTsv, DecodesConnFieldByField) {
  std::string text = ReadTestData("conn_008.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty()) << d.rejects[0].code;
  ASSERT_EQ(d.events.size(), 4u);
  EXPECT_EQ(d.consumed, text.size());

  const Event& e = d.events[0];
  EXPECT_EQ(e.kind, EventKind::kFlow);
  EXPECT_EQ(e.time, 1655071198444458);
  EXPECT_EQ(e.pos.line, 9u);
  EXPECT_EQ(e.pos.offset, OffsetOf(text, "1655071198.444458"));
  EXPECT_EQ(e.raw.substr(0, 36), "1655071198.444458\tCHLXQF2OBY4onAR0Ug");
  EXPECT_EQ(e.raw.back(), 't');  // "...Microsoft": the whole line, no newline
  EXPECT_EQ(e.uid, "CHLXQF2OBY4onAR0Ug");
  ASSERT_TRUE(e.net.valid);
  EXPECT_EQ(e.net.orig_h, *IpAddr::Parse("147.32.81.167"));
  EXPECT_EQ(e.net.orig_h_text, "147.32.81.167");
  EXPECT_EQ(e.net.orig_p, 62771);
  EXPECT_EQ(e.net.resp_h, *IpAddr::Parse("40.74.108.123"));
  EXPECT_EQ(e.net.resp_h_text, "40.74.108.123");
  EXPECT_EQ(e.net.resp_p, 443);
  EXPECT_EQ(e.net.proto, Proto::kTcp);
  const FlowBody* b = e.As<FlowBody>();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->service, "ssl");
  EXPECT_EQ(b->conn_state, "SF");
  EXPECT_EQ(b->history, "ShADdaFf");
  EXPECT_TRUE(b->has_duration);
  EXPECT_EQ(b->duration, 1135424);
  EXPECT_EQ(b->orig_bytes, 1596u);
  EXPECT_EQ(b->resp_bytes, 4039u);
  EXPECT_EQ(b->orig_pkts, 14u);
  EXPECT_EQ(b->resp_pkts, 16u);

  const Event& s0 = d.events[1];
  EXPECT_EQ(s0.pos.line, 10u);
  EXPECT_EQ(s0.uid, "CEL3aLvvNGvO6Ecoa");
  EXPECT_EQ(s0.net.resp_p, 3933);
  const FlowBody* b1 = s0.As<FlowBody>();
  ASSERT_NE(b1, nullptr);
  EXPECT_EQ(b1->service, "");  // "-" is unset
  EXPECT_EQ(b1->conn_state, "S0");
  EXPECT_EQ(b1->duration, 10);
  EXPECT_EQ(b1->resp_pkts, 0u);
}

TEST(ZeekTsv, DecodesHttpFieldByField) {
  std::string text = ReadTestData("http_008.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty());
  ASSERT_EQ(d.events.size(), 4u);
  const Event& e = d.events[0];
  EXPECT_EQ(e.kind, EventKind::kHttp);
  EXPECT_EQ(e.time, 1655071298201945);
  EXPECT_EQ(e.uid, "C5hVfL2fjFRPxB5V3d");
  EXPECT_EQ(e.net.orig_h_text, "147.32.81.167");
  EXPECT_EQ(e.net.resp_h_text, "91.228.165.44");
  EXPECT_EQ(e.net.resp_p, 80);
  EXPECT_EQ(e.net.proto, Proto::kTcp);
  const HttpBody* h = e.As<HttpBody>();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->method, "POST");
  EXPECT_EQ(h->host, "i4.c.eset.com");
  EXPECT_EQ(h->uri, "/livegrid");
  EXPECT_EQ(h->user_agent, "");
  EXPECT_EQ(h->referrer, "");
  EXPECT_EQ(h->request_body_len, 277u);
  EXPECT_EQ(h->response_body_len, 697u);
  EXPECT_EQ(h->status_code, 200);
  EXPECT_EQ(h->resp_fuids, "Fll6dEI3tMaVN2lge");
  EXPECT_EQ(h->resp_mime_types, "");

  const HttpBody* h2 = d.events[1].As<HttpBody>();
  ASSERT_NE(h2, nullptr);
  EXPECT_EQ(h2->method, "GET");
  EXPECT_EQ(h2->uri, "/pico/1/139380.pic");
  EXPECT_EQ(h2->user_agent.substr(0, 40), "EES Update (Windows; U; 64bit; BPC 9.0.2");
  EXPECT_EQ(h2->user_agent.back(), ')');
  EXPECT_EQ(h2->status_code, 404);
  EXPECT_EQ(h2->resp_mime_types, "text/html");
  EXPECT_EQ(h2->resp_fuids, "FKKJYgLMziz7xTIL9");
}

TEST(ZeekTsv, DecodesDnsWithIpv6AndTimestampsNearTheEpoch) {
  std::string text = ReadTestData("dns_005.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty());
  ASSERT_EQ(d.events.size(), 7u);
  const Event& e = d.events[0];
  EXPECT_EQ(e.kind, EventKind::kDns);
  EXPECT_EQ(e.time, 13184015);  // 13.184015 s after the epoch: odd but valid
  EXPECT_EQ(e.uid, "CaBhzn4douRRoJ519a");
  EXPECT_EQ(e.net.orig_h_text, "192.168.1.116");
  EXPECT_EQ(e.net.orig_p, 50814);
  EXPECT_EQ(e.net.resp_h, *IpAddr::Parse("8.8.8.8"));
  EXPECT_EQ(e.net.resp_p, 53);
  EXPECT_EQ(e.net.proto, Proto::kUdp);
  const DnsBody* q = e.As<DnsBody>();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->query, "dns.msftncsi.com");
  EXPECT_EQ(q->qtype_name, "A");
  EXPECT_EQ(q->rcode_name, "NOERROR");
  EXPECT_EQ(q->answers, "131.107.255.255");
  EXPECT_FALSE(q->rejected);

  const Event& v6 = d.events[2];
  EXPECT_EQ(v6.net.orig_h, *IpAddr::Parse("fe80::28fb:18bd:1770:8699"));
  EXPECT_EQ(v6.net.resp_h, *IpAddr::Parse("ff02::1:3"));
  EXPECT_EQ(v6.net.resp_p, 5355);
  EXPECT_EQ(v6.As<DnsBody>()->rcode_name, "");
  EXPECT_EQ(v6.As<DnsBody>()->answers, "");

  const Event& last = d.events[5];
  EXPECT_EQ(last.time, 354138646);
  EXPECT_EQ(last.As<DnsBody>()->query, "puzybep.com");
  EXPECT_EQ(last.As<DnsBody>()->qtype_name, "AAAA");
  EXPECT_TRUE(last.As<DnsBody>()->rejected);
}

TEST(ZeekTsv, DecodesSslFieldByField) {
  std::string text = ReadTestData("ssl_008.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty());
  ASSERT_EQ(d.events.size(), 4u);
  const TlsBody* t0 = d.events[0].As<TlsBody>();
  ASSERT_NE(t0, nullptr);
  EXPECT_EQ(d.events[0].kind, EventKind::kTls);
  EXPECT_EQ(t0->server_name, "settings-win.data.microsoft.com");
  EXPECT_EQ(t0->version, "");
  EXPECT_FALSE(t0->established);
  const Event& e = d.events[1];
  EXPECT_EQ(e.uid, "CHr5sm25NlbDlmUnni");
  EXPECT_EQ(e.time, 1655071401469632);
  EXPECT_EQ(e.net.resp_h_text, "20.54.24.231");
  const TlsBody* t = e.As<TlsBody>();
  EXPECT_EQ(t->server_name, "array614.prod.do.dsp.mp.microsoft.com");
  EXPECT_EQ(t->version, "TLSv12");
  EXPECT_TRUE(t->established);
  EXPECT_EQ(t->subject,
            "CN=*.prod.do.dsp.mp.microsoft.com,OU=DSP,O=Microsoft,L=Redmond,ST=WA,C=US");
  EXPECT_EQ(t->issuer.substr(0, 56), "CN=Microsoft ECC Content Distribution Secure Server CA 2");
  EXPECT_EQ(t->ja3, "");
}

TEST(ZeekTsv, DecodesFilesWithTxAndRxHosts) {
  std::string text = ReadTestData("files_synthetic.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty()) << d.rejects[0].code;
  ASSERT_EQ(d.events.size(), 2u);
  const Event& dl = d.events[0];
  EXPECT_EQ(dl.kind, EventKind::kFile);
  EXPECT_EQ(dl.time, 1704873600123456);
  EXPECT_EQ(dl.uid, "CHhAvVGS1DHFjwGM9");  // the connection's uid, not the fuid
  const FileBody* f = dl.As<FileBody>();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->fuid, "FfOgIQ3b0bHbYtm2Kd");
  EXPECT_EQ(f->source, "HTTP");
  EXPECT_EQ(f->mime_type, "application/x-dosexec");
  EXPECT_EQ(f->filename, "update.exe");
  EXPECT_EQ(f->md5, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(f->sha1, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
  EXPECT_EQ(f->sha256, "");
  EXPECT_EQ(f->seen_bytes, 73802u);
  EXPECT_EQ(f->total_bytes, 73802u);
  EXPECT_FALSE(f->is_orig);
  // A download: the server (tx) sent it, so the client (rx) is the originator.
  ASSERT_TRUE(dl.net.valid);
  EXPECT_EQ(dl.net.orig_h_text, "10.20.1.10");
  EXPECT_EQ(dl.net.resp_h_text, "203.0.113.7");
  EXPECT_EQ(dl.net.resp_h, *IpAddr::Parse("203.0.113.7"));

  const Event& up = d.events[1];
  EXPECT_EQ(up.uid, "Cw5eVv3yCQ7zDR8Hy9");  // the first of conn_uids
  const FileBody* u = up.As<FileBody>();
  EXPECT_TRUE(u->is_orig);
  EXPECT_EQ(u->filename, "");
  EXPECT_EQ(u->seen_bytes, 12u);
  EXPECT_EQ(u->total_bytes, 0u);
  // An upload: the originator sent it (tx), over IPv6.
  EXPECT_EQ(up.net.orig_h_text, "10.20.1.10");
  EXPECT_EQ(up.net.resp_h, *IpAddr::Parse("2001:db8::5"));
}

TEST(ZeekTsv, IgnoresLabelColumnsAfterZeeksOwn) {
  std::string text = ReadTestData("conn_slips18.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty());
  ASSERT_EQ(d.events.size(), 5u);
  const Event& e = d.events[0];
  EXPECT_EQ(e.uid, "C6SgKom3WB2KEL2ae");
  EXPECT_EQ(e.net.resp_h_text, "66.63.168.35");
  EXPECT_EQ(e.net.resp_p, 5888);
  EXPECT_EQ(e.As<FlowBody>()->conn_state, "REJ");
  EXPECT_EQ(e.As<FlowBody>()->resp_pkts, 2u);
  EXPECT_EQ(d.events[4].As<FlowBody>()->duration, 495305609);
  EXPECT_EQ(d.events[4].As<FlowBody>()->resp_bytes, 11677u);
}

TEST(ZeekTsv, CloseTrailerAndConcatenatedLogsResetTheHeader) {
  // An ssl log (with #close) followed by a conn log with other columns: the second header
  // block must replace the first one's columns and log type.
  // (The ssl excerpt, like the original, has no newline after #close.)
  std::string text = ReadTestData("ssl_slips18.log") + "\n" + ReadTestData("conn_008.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty());
  ASSERT_EQ(d.events.size(), 6u);
  EXPECT_EQ(d.events[0].kind, EventKind::kTls);
  EXPECT_EQ(d.events[0].As<TlsBody>()->server_name, "discord.com");
  EXPECT_EQ(d.events[0].As<TlsBody>()->version, "TLSv13");
  EXPECT_EQ(d.events[1].kind, EventKind::kTls);
  EXPECT_EQ(d.events[2].kind, EventKind::kFlow);
  EXPECT_EQ(d.events[2].uid, "CHLXQF2OBY4onAR0Ug");
  EXPECT_EQ(d.events[2].pos.line, 11u + 9u);
}

TEST(ZeekTsv, HonoursCustomSeparatorsAndEmptyMarkers) {
  std::string text =
      "#separator \\x7c\n"
      "#set_separator|;\n"
      "#empty_field|EMPTY\n"
      "#unset_field|NONE\n"
      "#path|dns\n"
      "#fields|ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|query|qtype_name|"
      "rcode_name|answers|rejected\n"
      "1.5|Cx|10.0.0.1|5353|10.0.0.2|53|udp|a.example|A|NONE|EMPTY|F\n"
      "2.5|Cy|10.0.0.1|5353|10.0.0.2|53|udp|b.example|TXT|NOERROR|x;y|T\n";
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_TRUE(d.rejects.empty());
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].time, 1500000);
  EXPECT_EQ(d.events[0].As<DnsBody>()->rcode_name, "");
  EXPECT_EQ(d.events[0].As<DnsBody>()->answers, "");
  EXPECT_EQ(d.events[1].As<DnsBody>()->answers, "x;y");  // as written
  EXPECT_EQ(d.events[1].As<DnsBody>()->qtype_name, "TXT");
  EXPECT_TRUE(d.events[1].As<DnsBody>()->rejected);
}

TEST(ZeekTsv, LocatesColumnsByNameNotPosition) {
  std::string text =
      "#separator \\x09\n#path\tconn\n"
      "#fields\tid.resp_p\tconn_state\tts\tid.resp_h\tuid\tid.orig_h\tid.orig_p\tproto\n"
      "443\tSF\t100.25\t2001:db8::1\tCa\t::1\t1024\ttcp\n";
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].time, 100250000);
  EXPECT_EQ(d.events[0].net.resp_p, 443);
  EXPECT_EQ(d.events[0].net.orig_p, 1024);
  EXPECT_EQ(d.events[0].net.orig_h, *IpAddr::Parse("::1"));
  EXPECT_EQ(d.events[0].As<FlowBody>()->conn_state, "SF");
  EXPECT_FALSE(d.events[0].As<FlowBody>()->has_duration);
}

// --- bad input: code, line and byte offset ---

struct BadCase {
  const char* name;
  std::string line;
  const char* code;
};

TEST(ZeekTsv, RejectsEachKindOfBadLineWithCodeLineAndOffset) {
  const std::string header =
      ReadTestData("conn_008.log").substr(0, OffsetOf(ReadTestData("conn_008.log"), "1655071198"));
  const std::string good =
      "1655071198.444458\tCa\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t1."
      "0\t1\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t(empty)\tBenign\tx\n";
  const BadCase cases[] = {
      {"short", "1655071198.444458\tCa\t10.0.0.1\t1\t10.0.0.2\n", "short-line"},
      {"ts",
       "16550x1198.4\tCa\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t1."
       "0\t1\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t(empty)\tB\tx\n",
       "bad-timestamp"},
      {"unset ts",
       "-\tCa\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t1.0\t1\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t(empty)"
       "\tB\tx\n",
       "bad-timestamp"},
      {"addr",
       "1.0\tCa\t10.0.0.256\t1\t10.0.0.2\t2\ttcp\t-\t1.0\t1\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t(empty)"
       "\tB\tx\n",
       "bad-address"},
      {"addr6",
       "1.0\tCa\t10.0.0.1\t1\tfe80:::1\t2\ttcp\t-\t1.0\t1\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t(empty)"
       "\tB\tx\n",
       "bad-address"},
      {"port",
       "1.0\tCa\t10.0.0.1\t65536\t10.0.0.2\t2\ttcp\t-\t1.0\t1\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t("
       "empty)\tB\tx\n",
       "bad-number"},
      {"count",
       "1.0\tCa\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t1.0\t-5\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t(empty)"
       "\tB\tx\n",
       "bad-number"},
      {"duration",
       "1.0\tCa\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\tabc\t1\t2\tSF\tT\tF\t0\tS\t1\t1\t1\t1\t(empty)"
       "\tB\tx\n",
       "bad-number"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string text = header + good + c.line + good;
    ZeekTsvDecoder dec;
    Decoded d = DecodeAll(dec, text);
    ASSERT_EQ(d.events.size(), 2u);  // the bad line is skipped, its neighbours are kept
    ASSERT_EQ(d.rejects.size(), 1u);
    EXPECT_EQ(d.rejects[0].code, c.code);
    EXPECT_EQ(d.rejects[0].line, 10u);
    EXPECT_EQ(d.rejects[0].offset, header.size() + good.size());
    EXPECT_EQ(d.rejects[0].snippet,
              c.line.substr(0, std::min<size_t>(c.line.size() - 1, kMaxSnippetBytes)));
    EXPECT_EQ(d.events[1].pos.line, 11u);
  }
}

TEST(ZeekTsv, DataBeforeAnyFieldsHeaderIsRejectedAsNoHeader) {
  std::string text = "1.0\tCa\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\n" + ReadTestData("conn_008.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].code, "no-header");
  EXPECT_EQ(d.rejects[0].line, 1u);
  EXPECT_EQ(d.rejects[0].offset, 0u);
  EXPECT_EQ(d.events.size(), 4u);
}

TEST(ZeekTsv, UnsupportedLogTypeIsRejectedOncePerInput) {
  std::string text = ReadTestData("weird_008.log");
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  EXPECT_TRUE(d.events.empty());
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].code, "unsupported-log");
  EXPECT_EQ(d.rejects[0].line, 9u);
  // A later supported block in the same input still decodes.
  Decoded d2 = DecodeAll(dec, ReadTestData("conn_008.log"));
  EXPECT_EQ(d2.events.size(), 4u);
  EXPECT_TRUE(d2.rejects.empty());
}

TEST(ZeekTsv, LineOverTheCapIsRejectedAsTooLong) {
  std::string header = ReadTestData("conn_008.log");
  std::string huge(kMaxRecordBytes + 1, 'a');
  std::string text = header + huge + "\n" + header.substr(header.find("\n1655071198") + 1);
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text);
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].code, "too-long");
  EXPECT_EQ(d.rejects[0].line, 13u);
  EXPECT_EQ(d.rejects[0].offset, header.size());
  EXPECT_EQ(d.events.size(), 8u);
  // Exactly at the cap is still a line (and here a short one).
  ZeekTsvDecoder dec2;
  Decoded d2 = DecodeAll(dec2, header + std::string(kMaxRecordBytes, 'a') + "\n");
  ASSERT_EQ(d2.rejects.size(), 1u);
  EXPECT_EQ(d2.rejects[0].code, "short-line");
}

TEST(ZeekTsv, BinaryGarbageBecomesRejectsNotCrashes) {
  std::string text = ReadTestData("conn_008.log");
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 5000; ++i) {
    x = x * 1103515245 + 12345;
    garbage.push_back(static_cast<char>(x >> 16));
  }
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, text + garbage + "\n" + text);
  EXPECT_EQ(d.events.size(), 8u);
  EXPECT_FALSE(d.rejects.empty());
  for (const Reject& r : d.rejects) EXPECT_FALSE(r.code.empty());
}

TEST(ZeekTsv, TruncatedLastLineIsNotAnError) {
  std::string text = ReadTestData("conn_008.log");
  std::string cut = text.substr(0, text.size() - 10);  // the last line loses its end
  ZeekTsvDecoder dec;
  Decoded d = DecodeAll(dec, cut, /*at_end=*/false);
  EXPECT_TRUE(d.rejects.empty());
  EXPECT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.consumed, text.rfind('\n', text.size() - 2) + 1);
  // Offered again with the rest, the line decodes.
  std::string rest = text.substr(d.consumed);
  std::vector<Event> ev;
  std::vector<Reject> rj;
  std::string padded = rest + std::string(kReadPadding, 0);
  size_t used = dec.Decode(std::string_view(padded.data(), rest.size()),
                           ChunkStart{0, 12, d.consumed}, true, ev, rj);
  EXPECT_EQ(used, rest.size());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].pos.line, 12u);
  EXPECT_EQ(ev[0].pos.offset, d.consumed);
  EXPECT_TRUE(rj.empty());
}

// Decodes `text` in two chunks split at `split`, re-offering the unconsumed tail as a reader
// does, and returns a printable summary of every event and reject.
std::string DecodeSplit(Decoder& dec, const std::string& text, size_t split) {
  std::string out;
  std::vector<Event> ev;
  std::vector<Reject> rj;
  std::string a = text.substr(0, split) + std::string(kReadPadding, 'x');
  size_t used = dec.Decode(std::string_view(a.data(), split), ChunkStart{}, false, ev, rj);
  uint64_t line = 1 + static_cast<uint64_t>(std::count(text.begin(), text.begin() + used, '\n'));
  auto dump = [&] {
    for (const Event& e : ev)
      out += std::to_string(e.pos.line) + ":" + std::to_string(e.pos.offset) + ":" +
             std::to_string(e.time) + ":" + std::string(e.uid) + ":" + std::string(e.raw) + ":" +
             e.net.orig_h.ToString() + ":" + std::to_string(e.net.resp_p) + "\n";
    for (const Reject& r : rj)
      out += "R" + std::to_string(r.line) + ":" + std::to_string(r.offset) + r.code + "\n";
    ev.clear();
    rj.clear();
  };
  dump();
  std::string b = text.substr(used) + std::string(kReadPadding, 'x');
  dec.Decode(std::string_view(b.data(), text.size() - used), ChunkStart{0, line, used}, true, ev,
             rj);
  dump();
  return out;
}

TEST(ZeekTsv, SplittingTheInputAtAnyByteGivesIdenticalEvents) {
  std::string text = ReadTestData("http_008.log") + ReadTestData("dns_005.log");
  text += "garbage line\n";
  ZeekTsvDecoder whole_dec;
  std::string whole = DecodeSplit(whole_dec, text, text.size());
  ASSERT_NE(whole.find("R"), std::string::npos);  // the garbage line is in the summary
  for (size_t split = 0; split <= text.size(); ++split) {
    ZeekTsvDecoder dec;
    ASSERT_EQ(DecodeSplit(dec, text, split), whole) << "split at " << split;
  }
}

// Decode splits a data line on a mask of its separators made in one pass; DecodeLine, fed
// one line at a time, searches column by column. Lines of every length across the 64-byte
// blocks of the mask and past its 2 KiB reach, with CR LF endings, empty and unset
// columns, too few columns and empty lines, must give the same events and rejects.
TEST(ZeekTsv, OnePassSplitGivesWhatTheColumnSearchGives) {
  const std::string header = ReadTestData("conn_008.log").substr(0, ReadTestData("conn_008.log").find("\n1"));
  std::string body;
  size_t whole = 1;  // the long line
  for (size_t pad = 0; pad < 150; ++pad) {
    const std::string uid = "C" + std::string(pad, 'u');
    std::string line = "1600000000.5\t" + uid + "\t10.0.0.1\t5000\t8.8.8.8\t53\tudp\tdns\t0.25\t10\t20\tSF\t-\t-\t0\tDd\t1\t38\t1\t48\t(empty)\tBenign\tx";
    if (pad % 7 == 3) line = line.substr(0, line.rfind('\t'));  // a column short
    if (pad % 5 == 1) line += "\r";
    if (pad % 11 == 4) line += "\textra";
    whole += pad % 7 != 3 || pad % 11 == 4;    body += line + "\n";
    if (pad % 13 == 0) body += "\n";
  }
  body += "1600000001.5\tClong\t10.0.0.1\t5000\t8.8.8.8\t53\tudp\tdns\t0.25\t10\t20\tSF\t-\t-\t0\t" +
          std::string(2100, 'h') + "\t1\t38\t1\t48\t(empty)\tBenign\tx\n";
  const std::string text = header + "\n" + body;

  ZeekTsvDecoder split_dec;
  Decoded a = DecodeAll(split_dec, text);
  ZeekTsvDecoder line_dec;
  std::vector<Event> ev;
  std::vector<Reject> rj;
  uint64_t line = 1, offset = 0;
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    std::string_view l(text.data() + at, nl - at);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (!l.empty()) line_dec.DecodeLine(l, SourcePos{0, line, offset}, ev, rj);
    at = nl + 1;
    offset = at;
    ++line;
  }
  auto describe = [](const std::vector<Event>& events, const std::vector<Reject>& rejects) {
    std::string out;
    for (const Event& e : events) {
      const FlowBody* f = e.As<FlowBody>();
      out += std::to_string(e.pos.line) + ":" + std::to_string(e.pos.offset) + " " + std::to_string(e.time) + " " +
             std::string(e.uid) + " " + std::string(e.raw.substr(0, 60)) + " " + std::to_string(e.net.resp_p) +
             (f ? " " + std::string(f->history.substr(0, 8)) + std::to_string(f->history.size()) + " " +
                      std::to_string(f->resp_bytes) + " " + std::to_string(f->resp_pkts)
                : "") +
             "\n";
    }
    for (const Reject& r : rejects) out += "R" + std::to_string(r.line) + ":" + std::to_string(r.offset) + r.code + "\n";
    return out;
  };
  EXPECT_EQ(describe(a.events, a.rejects), describe(ev, rj));
  EXPECT_EQ(a.events.size(), whole);  // every line but the short ones
  EXPECT_EQ(a.events.back().As<FlowBody>()->history.size(), 2100u);
}

TEST(ZeekTsv, RegisteredUnderItsFormatName) {
  const FormatInfo* f = FormatRegistry::Global().Find("zeek-tsv");
  ASSERT_NE(f, nullptr);
  auto dec = f->make();
  EXPECT_EQ(dec->format(), "zeek-tsv");
  EXPECT_EQ(FormatRegistry::Global().Sniff(ReadTestData("conn_008.log"), "conn.log"), f);
}

}  // namespace
}  // namespace vigil::ingest::zeek

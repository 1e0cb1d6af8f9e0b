#include "ingest/pcap/pcap_flow.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ingest/registry.h"

namespace vigil::ingest {
namespace {

// A deterministic synthetic capture builder (Ethernet + IPv4 + TCP/UDP, no checksums).
class PcapWriter {
 public:
  explicit PcapWriter(bool nanos = false) {
    U32(nanos ? 0xa1b23c4d : 0xa1b2c3d4);
    U16(2);
    U16(4);
    U32(0);
    U32(0);
    U32(65535);
    U32(1);  // Ethernet
    nanos_ = nanos;
  }
  void Tcp(double t, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint8_t flags,
           size_t payload = 0) {
    Packet(t, src, sp, dst, dp, 6, flags, payload);
  }
  void Udp(double t, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, size_t payload) {
    Packet(t, src, sp, dst, dp, 17, 0, payload);
  }
  std::string data;

 private:
  void U32(uint32_t v) { data.append(reinterpret_cast<char*>(&v), 4); }
  void U16(uint16_t v) { data.append(reinterpret_cast<char*>(&v), 2); }
  static void Be16(std::string& s, uint16_t v) {
    s += static_cast<char>(v >> 8);
    s += static_cast<char>(v & 255);
  }
  static void Be32(std::string& s, uint32_t v) {
    Be16(s, static_cast<uint16_t>(v >> 16));
    Be16(s, static_cast<uint16_t>(v & 0xffff));
  }
  void Packet(double t, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint8_t proto,
              uint8_t flags, size_t payload) {
    std::string f(12, '\x02');
    Be16(f, 0x0800);
    size_t thl = proto == 6 ? 20 : 8;
    std::string ip;
    ip += '\x45';
    ip += '\0';
    Be16(ip, static_cast<uint16_t>(20 + thl + payload));
    Be32(ip, 0);
    ip += '\x40';
    ip += static_cast<char>(proto);
    Be16(ip, 0);
    Be32(ip, src);
    Be32(ip, dst);
    std::string tr;
    Be16(tr, sp);
    Be16(tr, dp);
    if (proto == 6) {
      Be32(tr, 1);
      Be32(tr, 1);
      tr += '\x50';
      tr += static_cast<char>(flags);
      Be16(tr, 65535);
      Be32(tr, 0);
    } else {
      Be16(tr, static_cast<uint16_t>(8 + payload));
      Be16(tr, 0);
    }
    f += ip + tr + std::string(payload, 'x');
    auto sec = static_cast<uint32_t>(t);
    auto frac = static_cast<uint32_t>((t - sec) * (nanos_ ? 1e9 : 1e6) + 0.5);
    U32(sec);
    U32(frac);
    U32(static_cast<uint32_t>(f.size()));
    U32(static_cast<uint32_t>(f.size()));
    data += f;
  }
  bool nanos_ = false;
};

constexpr uint32_t kClient = 0x0a000005, kServer = 0xcb007109;  // 10.0.0.5, 203.0.113.9
constexpr uint8_t S = 0x02, A = 0x10, F = 0x01, R = 0x04, P = 0x08;

void Handshake(PcapWriter& w, double t, uint16_t cp, uint16_t sp, size_t up, size_t down) {
  w.Tcp(t, kClient, cp, kServer, sp, S);
  w.Tcp(t + 0.01, kServer, sp, kClient, cp, S | A);
  w.Tcp(t + 0.02, kClient, cp, kServer, sp, A);
  w.Tcp(t + 0.03, kClient, cp, kServer, sp, P | A, up);
  w.Tcp(t + 0.04, kServer, sp, kClient, cp, P | A, down);
  w.Tcp(t + 0.05, kClient, cp, kServer, sp, F | A);
  w.Tcp(t + 0.06, kServer, sp, kClient, cp, F | A);
  w.Tcp(t + 0.07, kClient, cp, kServer, sp, A);
}

std::vector<Event> DecodeAll(const std::string& data, std::vector<Reject>& rejects,
                             PcapDecoder& d, size_t chunk = 0) {
  std::vector<Event> events;
  if (chunk == 0) chunk = data.size();
  size_t pos = 0;
  std::string buf;
  while (true) {
    size_t take = std::min(chunk, data.size() - pos);
    buf.append(data, pos, take);
    pos += take;
    bool end = pos >= data.size();
    size_t used = d.Decode(buf, {0, 0, pos - buf.size()}, end, events, rejects);
    buf.erase(0, used);
    if (end) break;
  }
  return events;
}

TEST(PcapFlow, OneFlowPerTcpConnectionWithBytesAndDirection) {
  PcapWriter w;
  Handshake(w, 1000.0, 40001, 8080, 120, 900);
  Handshake(w, 1001.0, 40002, 8080, 130, 800);
  PcapDecoder d;
  std::vector<Reject> rejects;
  auto events = DecodeAll(w.data, rejects, d);
  EXPECT_TRUE(rejects.empty());
  ASSERT_EQ(events.size(), 2u);
  const auto& e = events[0];
  EXPECT_EQ(e.kind, EventKind::kFlow);
  EXPECT_EQ(e.time, 1000 * kMicrosPerSecond);
  EXPECT_EQ(e.net.orig_h_text, "10.0.0.5");
  EXPECT_EQ(e.net.resp_h_text, "203.0.113.9");
  EXPECT_EQ(e.net.orig_p, 40001);
  EXPECT_EQ(e.net.resp_p, 8080);
  EXPECT_EQ(e.net.proto, Proto::kTcp);
  const auto* f = e.As<FlowBody>();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->orig_bytes, 120u);
  EXPECT_EQ(f->resp_bytes, 900u);
  EXPECT_EQ(f->orig_pkts, 4u);  // SYN, ACK, data, FIN (the last ACK comes after the close)
  EXPECT_EQ(f->resp_pkts, 3u);
  EXPECT_EQ(f->conn_state, "SF");
  EXPECT_EQ(f->duration, 60000);
  EXPECT_EQ(events[1].net.orig_p, 40002);
  EXPECT_NE(events[0].uid, events[1].uid);
}

TEST(PcapFlow, RefusedAndUnansweredConnectionsGetTheirStates) {
  PcapWriter w;
  w.Tcp(10.0, kClient, 40010, kServer, 9090, S);
  w.Tcp(10.001, kServer, 9090, kClient, 40010, R | A);
  w.Tcp(11.0, kClient, 40011, kServer, 9091, S);
  PcapDecoder d;
  std::vector<Reject> rejects;
  auto events = DecodeAll(w.data, rejects, d);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].As<FlowBody>()->conn_state, "REJ");
  EXPECT_EQ(events[1].As<FlowBody>()->conn_state, "S0");
}

TEST(PcapFlow, UdpFlowsEndWhenIdleOrAtTheEnd) {
  PcapWriter w;
  w.Udp(100.0, kClient, 5353, kServer, 53, 40);
  w.Udp(100.1, kServer, 53, kClient, 5353, 120);
  w.Udp(300.0, kClient, 5354, kServer, 53, 40);  // 200 s later: the first flow is idle
  PcapDecoder d;
  std::vector<Reject> rejects;
  auto events = DecodeAll(w.data, rejects, d);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].net.proto, Proto::kUdp);
  EXPECT_EQ(events[0].net.resp_p, 53);
  EXPECT_EQ(events[0].As<FlowBody>()->resp_bytes, 120u);
}

TEST(PcapFlow, ChunkedInputGivesTheSameFlows) {
  PcapWriter w(/*nanos=*/true);
  for (int i = 0; i < 5; ++i) Handshake(w, 2000.0 + i, static_cast<uint16_t>(41000 + i), 443, 100, 200);
  PcapDecoder d1, d2;
  std::vector<Reject> r1, r2;
  auto whole = DecodeAll(w.data, r1, d1);
  auto chunked = DecodeAll(w.data, r2, d2, 37);
  ASSERT_EQ(whole.size(), 5u);
  ASSERT_EQ(chunked.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(whole[i].time, chunked[i].time);
    EXPECT_EQ(whole[i].net.orig_p, chunked[i].net.orig_p);
  }
  EXPECT_EQ(whole[0].time, 2000 * kMicrosPerSecond);
}

TEST(PcapFlow, BadMagicAndOversizedAndTruncatedRecordsAreRejectsNotCrashes) {
  PcapDecoder d;
  std::vector<Reject> rejects;
  auto events = DecodeAll(std::string(64, 'z'), rejects, d);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, "bad-magic");
  EXPECT_EQ(rejects[0].offset, 0u);

  PcapWriter w;
  Handshake(w, 1.0, 40001, 80, 10, 10);
  std::string big = w.data;
  uint32_t huge = kMaxPcapPacketBytes + 1;
  std::memcpy(&big[24 + 8], &huge, 4);
  PcapDecoder d2;
  rejects.clear();
  DecodeAll(big, rejects, d2);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, "too-long");
  EXPECT_EQ(rejects[0].offset, 24u);

  PcapDecoder d3;
  rejects.clear();
  std::string cut = w.data.substr(0, w.data.size() - 5);
  events = DecodeAll(cut, rejects, d3);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, "truncated");
  EXPECT_EQ(events.size(), 1u);  // the connection seen so far still becomes a flow
}

TEST(PcapFlow, RegisteredAndSniffedByMagic) {
  const FormatInfo* f = FormatRegistry::Global().Find("pcap");
  ASSERT_NE(f, nullptr);
  PcapWriter w;
  EXPECT_EQ(FormatRegistry::Global().Sniff(w.data, "x.bin")->name, "pcap");
  std::string ng("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a", 12);
  EXPECT_EQ(SniffPcap(ng), 100);
  EXPECT_EQ(SniffPcap("#separator \\x09"), 0);
}

}  // namespace
}  // namespace vigil::ingest

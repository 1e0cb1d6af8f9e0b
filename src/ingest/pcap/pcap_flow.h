// pcap: a minimal flow decoder for packet captures, so Vigil can learn from raw packets when
// there is no Zeek: classic pcap and pcapng files (registered as format "pcap", sniffed from
// the magic numbers) and live capture with libpcap (PcapLiveCapture).
//
// Packets become kFlow events, one per TCP connection: a SYN without ACK starts it (the SYN's
// sender is the originator), FIN or RST from either side ends it, and bytes and packets are
// counted per direction. UDP (and TCP without a seen SYN) are grouped by 5-tuple and end
// after kFlowIdleTimeout without packets, or at the end of the input. Link types: Ethernet
// (with VLAN tags), Linux cooked (SLL, SLL2), raw IP and BSD loopback; IPv4 and IPv6.
// Malformed packets are counted and skipped, never fatal.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "ingest/decoder.h"

namespace vigil::ingest {

inline constexpr Micros kFlowIdleTimeout = 60 * kMicrosPerSecond;
inline constexpr size_t kMaxOpenFlows = 200000;      // flows tracked at once; oldest ended first
inline constexpr size_t kMaxPcapPacketBytes = 262144;  // a captured packet larger than this is corrupt

// One finished flow; owns its strings.
struct FlowRecord {
  Micros start = 0;
  Micros end = 0;
  IpAddr orig_h, resp_h;
  std::string orig_text, resp_text;
  uint16_t orig_p = 0, resp_p = 0;
  Proto proto = Proto::kUnknown;
  uint64_t orig_bytes = 0, resp_bytes = 0;  // IP payload bytes past the transport header
  uint64_t orig_pkts = 0, resp_pkts = 0;
  bool saw_syn = false, saw_synack = false, saw_fin = false, saw_rst = false;
  std::string uid;         // "P" + 16 hex digits of a hash of the 5-tuple and start
  const char* conn_state = "OTH";  // Zeek-like: "SF", "S0", "S1", "REJ", "RSTO", "RSTR", "OTH"
};

// Builds the kFlow event for a record; its string views point into `r` (valid while r is).
Event FlowEvent(const FlowRecord& r);

// Tracks packets into flows. Not thread-safe.
class FlowTable {
 public:
  // Feeds one link-layer frame captured at `ts`. Returns false for a frame it could not
  // parse (counted in bad_packets()).
  bool AddFrame(int linktype, const uint8_t* data, size_t len, Micros ts);
  // Ends flows idle for kFlowIdleTimeout at `now` (all flows when `all`).
  void Expire(Micros now, bool all);
  // Finished flows since the last call, in end order.
  std::vector<FlowRecord> TakeFinished();
  uint64_t bad_packets() const { return bad_; }
  size_t open_flows() const { return open_.size(); }

 private:
  struct Key {
    IpAddr a, b;
    uint16_t pa = 0, pb = 0;
    uint8_t proto = 0;
    bool operator==(const Key& o) const {
      return a == o.a && b == o.b && pa == o.pa && pb == o.pb && proto == o.proto;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  bool AddIp(const uint8_t* p, size_t len, Micros ts);
  void Finish(const Key& k);
  std::unordered_map<Key, FlowRecord, KeyHash> open_;
  std::vector<FlowRecord> finished_;
  uint64_t bad_ = 0;
};

// The "pcap" decoder: classic pcap (both byte orders, micro- and nanosecond) and pcapng.
class PcapDecoder : public Decoder {
 public:
  std::string_view format() const override { return "pcap"; }
  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override;

 private:
  void Emit(std::vector<Event>& events);
  enum class Kind { kUnknown, kPcap, kPcapng } kind_ = Kind::kUnknown;
  bool swapped_ = false;
  bool nanos_ = false;
  int linktype_ = 1;
  std::vector<int> ng_linktypes_;      // per pcapng interface
  std::vector<int64_t> ng_units_;      // per pcapng interface: timestamp units per second
  bool failed_ = false;
  FlowTable table_;
  // Finished flows handed out as events: kept so the events' views stay valid for the
  // decoder's lifetime (bounded by kMaxKeptFlows; older ones are released once the pipeline
  // has had them for two further Decode calls).
  std::deque<FlowRecord> kept_;
  size_t kept_before_last_call_ = 0;
};

// Pcap magic numbers, for the sniffer: 100 for pcap/pcapng, 0 otherwise.
int SniffPcap(std::string_view head);

// Live capture with libpcap on one interface, optionally inside a named network namespace
// (the capture thread joins the namespace; the rest of the process stays where it is).
class PcapLiveCapture {
 public:
  ~PcapLiveCapture();
  // Opens `iface` (in namespace `netns` when not empty) and starts capturing on a thread.
  static Result<std::unique_ptr<PcapLiveCapture>> Start(const std::string& iface,
                                                        const std::string& netns = "");
  // Finished flows so far (thread-safe). Flows still open stay until they end or Stop.
  std::vector<FlowRecord> TakeFlows();
  // Stops capturing and ends every open flow (they are then returned by TakeFlows).
  void Stop();
  uint64_t packets() const;

 private:
  PcapLiveCapture() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::ingest

#include "ingest/pcap/pcap_flow.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/dynlib.h"
#include "ingest/registry.h"

namespace vigil::ingest {

namespace {

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Rd32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}
uint16_t Rd16(const uint8_t* p, bool swap) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return swap ? __builtin_bswap16(v) : v;
}

uint64_t Fnv(const void* p, size_t n, uint64_t h) {
  auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

constexpr uint8_t kTcp = 6, kUdp = 17;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

}  // namespace

size_t FlowTable::KeyHash::operator()(const Key& k) const {
  uint64_t h = 1469598103934665603ull;
  h = Fnv(k.a.bytes().data(), 16, h);
  h = Fnv(k.b.bytes().data(), 16, h);
  h = Fnv(&k.pa, 2, h);
  h = Fnv(&k.pb, 2, h);
  return static_cast<size_t>(Fnv(&k.proto, 1, h));
}

Event FlowEvent(const FlowRecord& r) {
  Event e;
  e.time = r.start;
  e.kind = EventKind::kFlow;
  e.uid = r.uid;
  e.net.orig_h = r.orig_h;
  e.net.resp_h = r.resp_h;
  e.net.orig_h_text = r.orig_text;
  e.net.resp_h_text = r.resp_text;
  e.net.orig_p = r.orig_p;
  e.net.resp_p = r.resp_p;
  e.net.proto = r.proto;
  e.net.valid = true;
  auto& f = e.Set<FlowBody>();
  f.conn_state = r.conn_state;
  f.duration = r.end - r.start;
  f.has_duration = true;
  f.orig_bytes = r.orig_bytes;
  f.resp_bytes = r.resp_bytes;
  f.orig_pkts = r.orig_pkts;
  f.resp_pkts = r.resp_pkts;
  return e;
}

bool FlowTable::AddFrame(int linktype, const uint8_t* p, size_t len, Micros ts) {
  size_t off = 0;
  uint16_t ethertype = 0;
  switch (linktype) {
    case 1: {  // Ethernet
      if (len < 14) break;
      ethertype = Be16(p + 12);
      off = 14;
      while ((ethertype == 0x8100 || ethertype == 0x88a8) && len >= off + 4) {
        ethertype = Be16(p + off + 2);
        off += 4;
      }
      break;
    }
    case 113:  // Linux cooked v1
      if (len < 16) break;
      ethertype = Be16(p + 14);
      off = 16;
      break;
    case 276:  // Linux cooked v2
      if (len < 20) break;
      ethertype = Be16(p);
      off = 20;
      break;
    case 0:    // BSD loopback: 4-byte host-order family
    case 109:
      if (len < 4) break;
      off = 4;
      ethertype = (p[4 < len ? 4 : 0] >> 4) == 6 ? 0x86dd : 0x0800;
      break;
    case 12: case 14: case 101: case 228: case 229:  // raw IP
      if (len < 1) break;
      ethertype = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
      break;
    default:
      break;
  }
  if (ethertype != 0x0800 && ethertype != 0x86dd) {
    ++bad_;
    return false;
  }
  if (!AddIp(p + off, len - off, ts)) {
    ++bad_;
    return false;
  }
  return true;
}

bool FlowTable::AddIp(const uint8_t* p, size_t len, Micros ts) {
  if (len < 1) return false;
  IpAddr src, dst;
  uint8_t proto;
  size_t hl;
  size_t total;
  if ((p[0] >> 4) == 4) {
    if (len < 20) return false;
    hl = static_cast<size_t>(p[0] & 15) * 4;
    total = Be16(p + 2);
    if (hl < 20 || total < hl || len < hl) return false;
    if ((Be16(p + 6) & 0x1fff) != 0) return true;  // a later fragment: no ports, skip
    proto = p[9];
    src = IpAddr::V4(static_cast<uint32_t>(p[12]) << 24 | p[13] << 16 | p[14] << 8 | p[15]);
    dst = IpAddr::V4(static_cast<uint32_t>(p[16]) << 24 | p[17] << 16 | p[18] << 8 | p[19]);
  } else if ((p[0] >> 4) == 6) {
    if (len < 40) return false;
    hl = 40;
    total = 40 + Be16(p + 4);
    proto = p[6];  // extension headers are not followed: such packets count as other
    std::array<uint8_t, 16> a, b;
    std::memcpy(a.data(), p + 8, 16);
    std::memcpy(b.data(), p + 24, 16);
    src = IpAddr::FromBytes(a);
    dst = IpAddr::FromBytes(b);
  } else {
    return false;
  }
  if (proto != kTcp && proto != kUdp) return true;  // only TCP and UDP make flows here
  const uint8_t* t = p + hl;
  size_t tlen = std::min(len, total) - hl;
  uint16_t sp, dp;
  size_t thl;
  uint8_t flags = 0;
  if (proto == kTcp) {
    if (tlen < 20) return false;
    thl = static_cast<size_t>(t[12] >> 4) * 4;
    if (thl < 20) return false;
    flags = t[13];
  } else {
    if (tlen < 8) return false;
    thl = 8;
  }
  sp = Be16(t);
  dp = Be16(t + 2);
  uint64_t payload = total > hl + thl ? total - hl - thl : 0;

  // Canonical key: lower (addr, port) first, so both directions find one flow.
  Key k;
  bool fwd = std::tie(src, sp) < std::tie(dst, dp);
  k.a = fwd ? src : dst;
  k.b = fwd ? dst : src;
  k.pa = fwd ? sp : dp;
  k.pb = fwd ? dp : sp;
  k.proto = proto;
  auto it = open_.find(k);
  if (it != open_.end() && proto == kTcp && (flags & kSyn) && !(flags & kAck) &&
      (it->second.saw_fin || it->second.saw_rst || it->second.end + kFlowIdleTimeout < ts)) {
    Finish(k);  // port reuse: a new connection
    it = open_.end();
  }
  // The last ACK after a close, or a stray RST: no connection to start from it.
  if (it == open_.end() && proto == kTcp && !(flags & kSyn) && payload == 0) return true;
  if (it == open_.end()) {
    if (open_.size() >= kMaxOpenFlows) {
      auto oldest = std::min_element(open_.begin(), open_.end(), [](const auto& x, const auto& y) {
        return x.second.end < y.second.end;
      });
      Finish(oldest->first);
    }
    FlowRecord r;
    r.start = r.end = ts;
    // The originator: the SYN's sender; else the side with the higher (ephemeral) port.
    bool src_is_orig = proto == kTcp && (flags & kSyn) ? !(flags & kAck) : sp >= dp;
    r.orig_h = src_is_orig ? src : dst;
    r.resp_h = src_is_orig ? dst : src;
    r.orig_p = src_is_orig ? sp : dp;
    r.resp_p = src_is_orig ? dp : sp;
    r.orig_text = r.orig_h.ToString();
    r.resp_text = r.resp_h.ToString();
    r.proto = proto == kTcp ? Proto::kTcp : Proto::kUdp;
    uint64_t h = KeyHash{}(k);
    h = Fnv(&ts, sizeof ts, h);
    char buf[24];
    std::snprintf(buf, sizeof buf, "P%016llx", static_cast<unsigned long long>(h));
    r.uid = buf;
    it = open_.emplace(k, std::move(r)).first;
  }
  FlowRecord& r = it->second;
  bool from_orig = src == r.orig_h && sp == r.orig_p;
  r.end = std::max(r.end, ts);
  if (from_orig) {
    ++r.orig_pkts;
    r.orig_bytes += payload;
  } else {
    ++r.resp_pkts;
    r.resp_bytes += payload;
  }
  if (proto == kTcp) {
    if ((flags & kSyn) && !(flags & kAck) && from_orig) r.saw_syn = true;
    if ((flags & kSyn) && (flags & kAck) && !from_orig) r.saw_synack = true;
    if (flags & kRst) {
      r.saw_rst = true;
      r.conn_state = !r.saw_synack && r.saw_syn ? "REJ" : (from_orig ? "RSTO" : "RSTR");
      Finish(k);
      return true;
    }
    if (flags & kFin) {
      r.saw_fin = true;
      // Ended when both sides have sent FIN; one FIN is enough to call it closing, and the
      // final ACK is counted to the flow if it arrives before the next SYN on these ports.
      if (from_orig ? (r.conn_state == std::string_view("fin-resp"))
                    : (r.conn_state == std::string_view("fin-orig"))) {
        r.conn_state = "SF";
        Finish(k);
        return true;
      }
      r.conn_state = from_orig ? "fin-orig" : "fin-resp";
    }
  }
  return true;
}

void FlowTable::Finish(const Key& k) {
  auto it = open_.find(k);
  if (it == open_.end()) return;
  FlowRecord r = std::move(it->second);
  open_.erase(it);
  std::string_view cs = r.conn_state;
  if (cs == "fin-orig" || cs == "fin-resp") r.conn_state = "SF";
  else if (r.proto == Proto::kTcp && cs == "OTH") {
    if (r.saw_syn && !r.saw_synack) r.conn_state = "S0";
    else if (r.saw_syn && r.saw_synack) r.conn_state = "S1";
  }
  finished_.push_back(std::move(r));
}

void FlowTable::Expire(Micros now, bool all) {
  std::vector<Key> done;
  for (const auto& [k, r] : open_)
    if (all || r.end + kFlowIdleTimeout <= now) done.push_back(k);
  std::sort(done.begin(), done.end(), [&](const Key& x, const Key& y) {
    return open_.at(x).start < open_.at(y).start;
  });
  for (const auto& k : done) Finish(k);
}

std::vector<FlowRecord> FlowTable::TakeFinished() { return std::exchange(finished_, {}); }

// ------------------------------------------------------------------ file decoder

int SniffPcap(std::string_view h) {
  if (h.size() < 4) return 0;
  uint32_t m;
  std::memcpy(&m, h.data(), 4);
  if (m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1) return 100;
  if (m == 0x0a0d0d0a) return 100;  // pcapng section header block
  return 0;
}

void PcapDecoder::Emit(std::vector<Event>& events) {
  for (auto& r : table_.TakeFinished()) {
    kept_.push_back(std::move(r));
    events.push_back(FlowEvent(kept_.back()));
  }
}

size_t PcapDecoder::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                           std::vector<Event>& events, std::vector<Reject>& rejects) {
  // Release flows handed out two calls ago (their events have been through the pipeline).
  while (kept_before_last_call_ > 0 && !kept_.empty()) {
    kept_.pop_front();
    --kept_before_last_call_;
  }
  kept_before_last_call_ = kept_.size();
  if (failed_) return data.size();
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t pos = 0, n = data.size();
  auto reject = [&](const char* code, const std::string& why) {
    SourcePos sp{start.input, 0, start.offset + pos};
    rejects.push_back(MakeReject(sp, code, why, data.substr(pos, 16)));
    failed_ = true;
  };
  if (kind_ == Kind::kUnknown) {
    if (n < 4) {
      if (at_end) reject("truncated", "shorter than a pcap header");
      return at_end ? n : 0;
    }
    uint32_t m;
    std::memcpy(&m, p, 4);
    if (m == 0x0a0d0d0a) {
      kind_ = Kind::kPcapng;
    } else {
      if (n < 24) {
        if (at_end) reject("truncated", "shorter than a pcap header");
        return at_end ? n : 0;
      }
      if (m == 0xa1b2c3d4 || m == 0xa1b23c4d) swapped_ = false;
      else if (m == 0xd4c3b2a1 || m == 0x4d3cb2a1) swapped_ = true;
      else {
        reject("bad-magic", "not a pcap or pcapng file");
        return n;
      }
      nanos_ = m == 0xa1b23c4d || m == 0x4d3cb2a1;
      linktype_ = static_cast<int>(Rd32(p + 20, swapped_) & 0xffff);
      kind_ = Kind::kPcap;
      pos = 24;
    }
  }
  Micros last_ts = 0;
  while (pos < n) {
    if (kind_ == Kind::kPcap) {
      if (n - pos < 16) break;
      uint32_t sec = Rd32(p + pos, swapped_), frac = Rd32(p + pos + 4, swapped_);
      uint32_t incl = Rd32(p + pos + 8, swapped_);
      if (incl > kMaxPcapPacketBytes) {
        reject("too-long", "packet record of " + std::to_string(incl) + " bytes");
        return n;
      }
      if (n - pos - 16 < incl) break;
      Micros ts = static_cast<Micros>(sec) * kMicrosPerSecond + (nanos_ ? frac / 1000 : frac);
      table_.AddFrame(linktype_, p + pos + 16, incl, ts);
      last_ts = ts;
      pos += 16 + incl;
    } else {
      if (n - pos < 12) break;
      uint32_t type = Rd32(p + pos, swapped_);
      if (type == 0x0a0d0d0a) {  // section header: learn the byte order from its magic
        uint32_t bom;
        std::memcpy(&bom, p + pos + 8, 4);
        if (bom == 0x1a2b3c4d) swapped_ = false;
        else if (bom == 0x4d3c2b1a) swapped_ = true;
        else {
          reject("bad-magic", "pcapng section with an unknown byte order");
          return n;
        }
        ng_linktypes_.clear();
        ng_units_.clear();
      }
      uint32_t blen = Rd32(p + pos + 4, swapped_);
      if (blen < 12 || blen % 4 != 0 || blen > kMaxPcapPacketBytes + 64) {
        reject("bad-block", "pcapng block length " + std::to_string(blen));
        return n;
      }
      if (n - pos < blen) break;
      const uint8_t* b = p + pos + 8;
      size_t body = blen - 12;
      if (type == 1 && body >= 8) {  // interface description
        ng_linktypes_.push_back(Rd16(b, swapped_));
        int64_t units = 1000000;
        size_t o = 8;
        while (o + 4 <= body) {  // options: look for if_tsresol (9)
          uint16_t code = Rd16(b + o, swapped_), olen = Rd16(b + o + 2, swapped_);
          if (code == 0) break;
          if (code == 9 && olen >= 1 && o + 4 < body) {
            uint8_t r = b[o + 4];
            units = 1;
            for (int i = 0; i < (r & 0x7f) && units < 1'000'000'000'000LL; ++i) units *= (r & 0x80) ? 2 : 10;
          }
          o += 4 + ((olen + 3u) & ~3u);
        }
        ng_units_.push_back(units);
      } else if (type == 6 && body >= 20) {  // enhanced packet
        uint32_t ifc = Rd32(b, swapped_);
        uint64_t raw = (static_cast<uint64_t>(Rd32(b + 4, swapped_)) << 32) | Rd32(b + 8, swapped_);
        uint32_t cap = Rd32(b + 12, swapped_);
        if (ifc < ng_linktypes_.size() && cap <= body - 20) {
          int64_t units = ng_units_[ifc];
          Micros ts = units == 1000000 ? static_cast<Micros>(raw)
                                       : static_cast<Micros>(raw / static_cast<uint64_t>(units)) * kMicrosPerSecond +
                                             static_cast<Micros>((raw % static_cast<uint64_t>(units)) * 1000000 / static_cast<uint64_t>(units));
          table_.AddFrame(ng_linktypes_[ifc], b + 20, cap, ts);
          last_ts = ts;
        }
      }
      pos += blen;
    }
  }
  if (last_ts) table_.Expire(last_ts, false);
  if (at_end) {
    table_.Expire(0, true);
    if (pos < n) {
      SourcePos sp{start.input, 0, start.offset + pos};
      rejects.push_back(MakeReject(sp, "truncated", "the capture ends inside a packet record",
                                   data.substr(pos, 16)));
      pos = n;
    }
  }
  Emit(events);
  return pos;
}

VIGIL_REGISTER_FORMAT(FormatInfo{
    "pcap", "packet captures (pcap, pcapng): TCP/UDP flows",
    [] { return std::unique_ptr<Decoder>(std::make_unique<PcapDecoder>()); },
    [](std::string_view head, std::string_view) { return SniffPcap(head); }});

// ------------------------------------------------------------------ live capture

namespace {

// libpcap, opened on first use (core/dynlib.h says why): only live capture needs it; the
// pcap and pcapng files above are read by our own code.
struct PcapApi {
  decltype(&::pcap_create) create = nullptr;
  decltype(&::pcap_set_snaplen) set_snaplen = nullptr;
  decltype(&::pcap_set_timeout) set_timeout = nullptr;
  decltype(&::pcap_set_immediate_mode) set_immediate_mode = nullptr;
  decltype(&::pcap_activate) activate = nullptr;
  decltype(&::pcap_geterr) geterr = nullptr;
  decltype(&::pcap_datalink) datalink = nullptr;
  decltype(&::pcap_next_ex) next_ex = nullptr;
  decltype(&::pcap_breakloop) breakloop = nullptr;
  decltype(&::pcap_close) close = nullptr;
};
PcapApi pcap_lib;

// Loads libpcap on the first call, from any thread; the same answer after.
Status LoadPcap() {
  static const Status loaded = LoadSymbols(
      {"libpcap.so.0.8", "libpcap.so.1"},
      {Sym("pcap_create", pcap_lib.create), Sym("pcap_set_snaplen", pcap_lib.set_snaplen),
       Sym("pcap_set_timeout", pcap_lib.set_timeout),
       Sym("pcap_set_immediate_mode", pcap_lib.set_immediate_mode),
       Sym("pcap_activate", pcap_lib.activate), Sym("pcap_geterr", pcap_lib.geterr),
       Sym("pcap_datalink", pcap_lib.datalink), Sym("pcap_next_ex", pcap_lib.next_ex),
       Sym("pcap_breakloop", pcap_lib.breakloop), Sym("pcap_close", pcap_lib.close)});
  return loaded;
}

}  // namespace

struct PcapLiveCapture::Impl {
  pcap_t* handle = nullptr;
  int linktype = 1;
  std::thread thread;
  std::mutex mu;
  FlowTable table;
  std::vector<FlowRecord> ready;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> packets{0};
};

Result<std::unique_ptr<PcapLiveCapture>> PcapLiveCapture::Start(const std::string& iface,
                                                                const std::string& netns) {
  if (Status s = LoadPcap(); !s.ok())
    return Unavailable("live capture on " + iface + ": " + s.message());
  auto cap = std::unique_ptr<PcapLiveCapture>(new PcapLiveCapture());
  cap->impl_ = std::make_unique<Impl>();
  Impl* impl = cap->impl_.get();
  std::mutex ready_mu;
  std::string error;
  bool opened = false;
  std::condition_variable cv;
  bool done = false;
  impl->thread = std::thread([&, impl] {
    std::string err;
    if (!netns.empty()) {
      std::string path = "/var/run/netns/" + netns;
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) err = "cannot enter network namespace " + netns;
      if (fd >= 0) close(fd);
    }
    char ebuf[PCAP_ERRBUF_SIZE] = {0};
    if (err.empty()) {
      impl->handle = pcap_lib.create(iface.c_str(), ebuf);
      if (!impl->handle) err = ebuf;
    }
    if (err.empty()) {
      pcap_lib.set_snaplen(impl->handle, 256);
      pcap_lib.set_timeout(impl->handle, 100);
      pcap_lib.set_immediate_mode(impl->handle, 1);
      if (pcap_lib.activate(impl->handle) < 0) err = pcap_lib.geterr(impl->handle);
      else impl->linktype = pcap_lib.datalink(impl->handle);
    }
    {
      std::lock_guard<std::mutex> l(ready_mu);
      error = err;
      opened = err.empty();
      done = true;
    }
    cv.notify_all();
    if (!err.empty()) return;
    while (!impl->stop.load()) {
      pcap_pkthdr* h;
      const u_char* data;
      int rc = pcap_lib.next_ex(impl->handle, &h, &data);
      if (rc == 1) {
        Micros ts = static_cast<Micros>(h->ts.tv_sec) * kMicrosPerSecond + h->ts.tv_usec;
        std::lock_guard<std::mutex> l(impl->mu);
        impl->table.AddFrame(impl->linktype, data, h->caplen, ts);
        impl->packets.fetch_add(1);
        for (auto& f : impl->table.TakeFinished()) impl->ready.push_back(std::move(f));
      } else if (rc < 0) {
        break;
      }
    }
  });
  {
    std::unique_lock<std::mutex> l(ready_mu);
    cv.wait(l, [&] { return done; });
  }
  if (!opened) {
    impl->thread.join();
    if (impl->handle) pcap_lib.close(impl->handle);
    impl->handle = nullptr;
    return Unavailable("live capture on " + iface + ": " + error);
  }
  return cap;
}

std::vector<FlowRecord> PcapLiveCapture::TakeFlows() {
  std::lock_guard<std::mutex> l(impl_->mu);
  return std::exchange(impl_->ready, {});
}

uint64_t PcapLiveCapture::packets() const { return impl_->packets.load(); }

void PcapLiveCapture::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stop.store(true);
  pcap_lib.breakloop(impl_->handle);
  impl_->thread.join();
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->table.Expire(0, true);
  for (auto& f : impl_->table.TakeFinished()) impl_->ready.push_back(std::move(f));
}

PcapLiveCapture::~PcapLiveCapture() {
  Stop();
  if (impl_ && impl_->handle) pcap_lib.close(impl_->handle);
}

}  // namespace vigil::ingest

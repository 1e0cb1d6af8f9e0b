// host/web-server-spawned-shell and host/hidden-binary-execution (process starts from
// Defender's DeviceProcessEvents).
//
// host/web-server-spawned-shell
//   Behaviour: a web server process (node, java, python, php-fpm/php-cgi, nginx, apache2/
//   httpd, w3wp, tomcat) starts a shell (sh, bash, dash, zsh, cmd.exe, powershell, pwsh) or a
//   downloader (curl, wget, certutil, bitsadmin): the first step after a web shell or an
//   injection flaw, MITRE T1505.003 / T1059.
//   Statistic: Good-Turing novelty of the (parent, child) pair per device, learned over every
//   child of the device's web servers. A pair the device
//   already runs (a health-check script, a deploy hook) scores nothing; a new pair scores
//   8 bits for the kind of event (web server to shell is rare everywhere) plus the
//   surprise -log2(p_new) of a new pair on this device (capped at 12 bits), plus 4 bits when
//   the command line carries reverse-shell or download-and-run markers (/dev/tcp, nc -e,
//   base64 -d, | sh, IEX, -enc). So a device with a long quiet history breaches on a new
//   pair; a device with no history yet only with a marker.
//
// host/hidden-binary-execution
//   Behaviour: a program runs from where programs should not live, a hidden directory
//   (/.x/, a dot-named file), /tmp, /var/tmp, /dev/shm, ~/.cache, %TEMP%, C:\Users\Public,
//   $Recycle.Bin, or under a system tool's name from the wrong place (sshd outside /usr/sbin,
//   any binary called kworker, svchost.exe outside System32): T1564.001, T1036.005.
//   Statistic: Good-Turing novelty of (folder, file) over every program the device runs.
//   The same program seen again is not new (an agent that always runs its updater from /tmp
//   quiets down after the first time); a new one scores by class (masquerade 14 bits,
//   hidden 10, temporary 7) plus half the surprise -log2(p_new) of a new program on this
//   device, up to 6 bits: a server that has run the same 20 binaries for weeks breaches on
//   its first /tmp program; a build machine that runs new programs all day does not.
#include <algorithm>
#include <cctype>
#include <string>

#include <absl/container/flat_hash_map.h>

#include "detect/model.h"
#include "detect/score.h"
#include "learn/novelty.h"

namespace vigil::detect {
namespace {

constexpr size_t kMaxDevices = 200'000;
constexpr uint32_t kMaxPairsPerDevice = 512;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The file name at the end of a path ("C:\x\w3wp.exe" -> "w3wp.exe"), lower-cased.
std::string BaseName(std::string_view path) {
  size_t p = path.find_last_of("/\\");
  return Lower(p == std::string_view::npos ? path : path.substr(p + 1));
}

std::string StripExe(std::string s) {
  if (s.size() > 4 && s.compare(s.size() - 4, 4, ".exe") == 0) s.resize(s.size() - 4);
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The process name (file name, else the path's last part), lower-case, without ".exe".
std::string ImageName(std::string_view file_name, std::string_view folder_path) {
  return StripExe(file_name.empty() ? BaseName(folder_path) : Lower(file_name));
}

// The folder a process image lives in, lower-case with '/' separators and a trailing '/'.
// DeviceProcessEvents' FolderPath usually ends with the file name; that part is removed.
std::string ImageFolder(std::string_view folder_path, std::string_view file_name) {
  std::string f = Lower(folder_path);
  std::replace(f.begin(), f.end(), '\\', '/');
  std::string name = Lower(file_name);
  if (!name.empty() && f.size() > name.size() &&
      f.compare(f.size() - name.size(), name.size(), name) == 0 &&
      f[f.size() - name.size() - 1] == '/')
    f.resize(f.size() - name.size());
  if (f.empty() || f.back() != '/') f.push_back('/');
  return f;
}

bool IsWebServer(const std::string& p) {
  static const char* kExact[] = {"node", "nodejs", "java", "javaw", "nginx", "apache2", "httpd",
                                 "w3wp", "tomcat", "tomcat9", "gunicorn", "uwsgi", "php",
                                 "lighttpd", "caddy"};
  for (const char* k : kExact)
    if (p == k) return true;
  return StartsWith(p, "python") || StartsWith(p, "php-fpm") || StartsWith(p, "php-cgi") ||
         StartsWith(p, "httpd") || StartsWith(p, "tomcat");
}

enum class ChildKind { kNone, kShell, kDownloader };

ChildKind ChildOf(const std::string& c) {
  static const char* kShells[] = {"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox", "cmd",
                                  "powershell", "pwsh"};
  static const char* kDownloaders[] = {"curl", "wget", "certutil", "bitsadmin", "fetch"};
  for (const char* k : kShells)
    if (c == k) return ChildKind::kShell;
  for (const char* k : kDownloaders)
    if (c == k) return ChildKind::kDownloader;
  return ChildKind::kNone;
}

// A reverse-shell or download-and-run marker in a command line, or "".
const char* SuspiciousMarker(std::string_view cmd) {
  std::string c = Lower(cmd);
  static const char* kMarkers[] = {"/dev/tcp/", "/dev/udp/", "nc -e", "ncat ", "bash -i",
                                   "base64 -d", "base64 --decode", "| sh", "|sh", "| bash",
                                   "|bash", "iex(", "iex (", "invoke-expression", " -enc ",
                                   "downloadstring", "chmod +x", "mkfifo"};
  for (const char* m : kMarkers)
    if (c.find(m) != std::string::npos) return m;
  return "";
}

EntityRef ProcessDevice(const Event& e, const ProcessBody& p) {
  if (!e.entity.empty()) return e.entity;
  if (!p.device_id.empty()) return {EntityType::kDevice, p.device_id, p.device_name};
  return {EntityType::kDevice, p.device_name, p.device_name};
}

// Per-device novelty sets, bounded in number of devices.
class DeviceSets {
 public:
  learn::NoveltySet* Get(std::string_view device) {
    uint64_t k = learn::HashValue(device);
    auto it = sets_.find(k);
    if (it != sets_.end()) return &it->second;
    if (sets_.size() >= kMaxDevices) return nullptr;  // past the cap new devices are not learned
    return &sets_.try_emplace(k, kMaxPairsPerDevice).first->second;
  }
  void Save(learn::StateWriter& w) const {
    w.U64(sets_.size());
    for (const auto& [k, s] : sets_) {
      w.U64(k);
      s.Save(w);
    }
  }
  Status Load(learn::StateReader& r, const char* what) {
    sets_.clear();
    uint64_t n = r.Count(kMaxDevices);
    for (uint64_t i = 0; i < n && r.ok(); ++i)
      sets_.try_emplace(r.U64(), kMaxPairsPerDevice).first->second.Load(r);
    return r.ok() ? Status::Ok() : Corrupt(std::string(what) + " state is truncated");
  }
  size_t MemoryUsage() const {
    size_t s = sets_.capacity() * 16;
    for (const auto& [k, v] : sets_) s += v.MemoryUsage();
    return s;
  }

 private:
  absl::flat_hash_map<uint64_t, learn::NoveltySet> sets_;
};

std::string FmtP(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", p);
  return buf;
}

// ---------------------------------------------------------------------------------------

class WebServerShellModel final : public Model {
 public:
  WebServerShellModel() {
    info_.name = "host/web-server-spawned-shell";
    info_.description =
        "A web server process starts a shell or a downloader, a parent/child pair new for the "
        "device.";
    info_.kinds = {EventKind::kProcess};
    info_.mitre = {"T1505.003", "T1059"};
    info_.default_threshold = 60;
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* p = e.As<ProcessBody>();
    if (p == nullptr) return;
    std::string parent = ImageName(p->parent_file_name, p->parent_folder_path);
    if (!IsWebServer(parent)) return;
    std::string child = ImageName(p->file_name, p->folder_path);
    EntityRef dev = ProcessDevice(e, *p);
    learn::NoveltySet* set = sets_.Get(dev.id);
    if (set == nullptr) return;
    // Every child of a web server is learned, so p_new says how often this server starts
    // something new at all; only shells and downloaders are judged.
    auto v = set->Observe(learn::MixHash(learn::HashValue(parent), learn::HashValue(child)), e.time);
    ChildKind kind = ChildOf(child);
    if (kind == ChildKind::kNone || !v.is_new || ctx.learning()) return;

    double bits = 8 + std::min(12.0, SurpriseBits(v.p_new));
    const char* marker = SuspiciousMarker(p->command_line);
    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.entity = ToEntityInfo(dev);
    b.reasons.push_back("web server " + parent + " started " +
                        (kind == ChildKind::kShell ? "the shell " : "the downloader ") + child +
                        ": " + std::string(p->command_line.substr(0, 200)));
    b.reasons.push_back("the pair " + parent + " -> " + child + " is new for the device (" +
                        std::to_string(v.distinct) + " web-server child pairs in " +
                        std::to_string(v.observations) + " starts before, p_new " +
                        FmtP(v.p_new) + ")");
    if (*marker) {
      bits += 4;
      b.reasons.push_back(std::string("the command line has '") + marker + "'");
    }
    if (!p->account_name.empty()) b.reasons.push_back("as " + std::string(p->account_name));
    b.score = ScoreFromBits(bits);
    b.events.push_back(MakeEventRef(e));
    b.mitre = info_.mitre;
    if (kind == ChildKind::kDownloader) b.mitre.push_back("T1105");
    b.details = {{"parent", parent},
                 {"parent_command_line", std::string(p->parent_command_line.substr(0, 500))},
                 {"child", child},
                 {"command_line", std::string(p->command_line.substr(0, 500))},
                 {"folder_path", std::string(p->folder_path)},
                 {"account", std::string(p->account_name)},
                 {"p_new", v.p_new},
                 {"defender_device_id", std::string(p->device_id)}};
    ctx.Emit(std::move(b));
  }

  void Save(learn::StateWriter& w) const override { sets_.Save(w); }
  Status Load(learn::StateReader& r) override { return sets_.Load(r, "web-server-spawned-shell"); }
  size_t MemoryUsage() const override { return sets_.MemoryUsage(); }

 private:
  ModelInfo info_;
  DeviceSets sets_;
};

// ---------------------------------------------------------------------------------------

enum class PlaceKind { kNone, kTemporary, kHidden, kMasquerade };

struct Verdict {
  PlaceKind kind = PlaceKind::kNone;
  std::string why;
};

// System tool names and the folders they belong in (lower-case, '/' separators).
struct SystemTool {
  const char* name;
  std::vector<const char*> folders;  // empty: never a file on disk (kernel threads)
};

const std::vector<SystemTool>& SystemTools() {
  static const auto* t = new std::vector<SystemTool>{
      {"sshd", {"/usr/sbin/", "/sbin/", "/usr/bin/"}},
      {"systemd", {"/usr/lib/systemd/", "/lib/systemd/", "/usr/bin/", "/bin/", "/sbin/"}},
      {"cron", {"/usr/sbin/", "/sbin/"}},
      {"crond", {"/usr/sbin/", "/sbin/"}},
      {"vim", {"/usr/bin/", "/bin/", "/usr/local/bin/"}},
      {"bash", {"/usr/bin/", "/bin/", "/usr/local/bin/"}},
      {"sh", {"/usr/bin/", "/bin/"}},
      {"dbus-daemon", {"/usr/bin/", "/bin/"}},
      {"rsyslogd", {"/usr/sbin/", "/sbin/"}},
      {"kworker", {}},
      {"kthreadd", {}},
      {"ksoftirqd", {}},
      {"svchost", {"c:/windows/system32/", "c:/windows/syswow64/"}},
      {"lsass", {"c:/windows/system32/"}},
      {"csrss", {"c:/windows/system32/"}},
      {"services", {"c:/windows/system32/"}},
      {"smss", {"c:/windows/system32/"}},
      {"winlogon", {"c:/windows/system32/"}},
      {"rundll32", {"c:/windows/system32/", "c:/windows/syswow64/"}},
      {"explorer", {"c:/windows/"}},
  };
  return *t;
}

Verdict Judge(const std::string& folder, const std::string& name) {
  // Masquerade: a system tool's name from the wrong folder.
  std::string bare = StripExe(name);
  for (const auto& tool : SystemTools()) {
    bool match = bare == tool.name ||
                 (tool.folders.empty() && StartsWith(bare, tool.name) &&
                  (bare.size() == std::string_view(tool.name).size() || bare[std::string_view(tool.name).size()] == '/' ||
                   bare[std::string_view(tool.name).size()] == ':'));
    if (!match) continue;
    if (tool.folders.empty())
      return {PlaceKind::kMasquerade,
              "'" + name + "' is a kernel thread's name, but here it is a file run from " + folder};
    bool ok = false;
    for (const char* f : tool.folders) ok = ok || folder == f;
    if (!ok)
      return {PlaceKind::kMasquerade,
              "'" + name + "' is a system tool's name, run from " + folder + " instead of " +
                  tool.folders[0]};
    return {};
  }
  // Hidden: a dot-named folder component or file.
  if (name.size() > 1 && name[0] == '.')
    return {PlaceKind::kHidden, "the file '" + name + "' is hidden (dot-named)"};
  size_t pos = 0;
  while ((pos = folder.find("/.", pos)) != std::string::npos) {
    size_t end = folder.find('/', pos + 1);
    std::string comp = folder.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    if (comp != "." && comp != ".." && comp.size() > 1 && comp != ".cache") {
      return {PlaceKind::kHidden, "it runs from the hidden folder '" + comp + "' (" + folder + ")"};
    }
    pos += 2;
  }
  static const char* kTemp[] = {"/tmp/", "/var/tmp/", "/dev/shm/", "/.cache/", "/appdata/local/temp/",
                                "c:/windows/temp/", "c:/users/public/", "/$recycle.bin/",
                                "/run/user/"};
  for (const char* t : kTemp) {
    if (folder.find(t) != std::string::npos)
      return {PlaceKind::kTemporary, "it runs from a temporary or cache folder (" + folder + ")"};
  }
  return {};
}

class HiddenBinaryModel final : public Model {
 public:
  HiddenBinaryModel() {
    info_.name = "host/hidden-binary-execution";
    info_.description =
        "A program runs from a hidden, temporary or cache folder, or under a system tool's name "
        "from the wrong folder.";
    info_.kinds = {EventKind::kProcess};
    info_.mitre = {"T1564.001", "T1036.005"};
    info_.default_threshold = 60;
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* p = e.As<ProcessBody>();
    if (p == nullptr || p->folder_path.empty()) return;
    std::string name = p->file_name.empty() ? BaseName(p->folder_path) : Lower(p->file_name);
    std::string folder = ImageFolder(p->folder_path, p->file_name.empty() ? name : p->file_name);
    EntityRef dev = ProcessDevice(e, *p);
    learn::NoveltySet* set = sets_.Get(dev.id);
    if (set == nullptr) return;
    // Every program the device runs is learned, so p_new says how often it runs something
    // new at all (a build machine often, a server rarely).
    auto nv = set->Observe(learn::MixHash(learn::HashValue(folder), learn::HashValue(name)), e.time);
    if (!nv.is_new) return;
    Verdict v = Judge(folder, name);
    if (v.kind == PlaceKind::kNone || ctx.learning()) return;
    double bits = v.kind == PlaceKind::kMasquerade ? 14 : v.kind == PlaceKind::kHidden ? 10 : 7;
    bits += std::min(6.0, SurpriseBits(nv.p_new) / 2);
    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.entity = ToEntityInfo(dev);
    b.reasons.push_back(std::string(p->folder_path) + " ran: " + v.why);
    b.reasons.push_back("first time on the device (" + std::to_string(nv.distinct) +
                        " such programs seen before, p_new " + FmtP(nv.p_new) + ")");
    if (!p->parent_file_name.empty())
      b.reasons.push_back("started by " + std::string(p->parent_file_name) + ": " +
                          std::string(p->command_line.substr(0, 200)));
    b.score = ScoreFromBits(bits);
    b.events.push_back(MakeEventRef(e));
    b.mitre = {v.kind == PlaceKind::kMasquerade ? "T1036.005" : "T1564.001"};
    b.details = {{"folder", folder},
                 {"file", name},
                 {"class", v.kind == PlaceKind::kMasquerade ? "masquerade"
                           : v.kind == PlaceKind::kHidden   ? "hidden"
                                                            : "temporary"},
                 {"command_line", std::string(p->command_line.substr(0, 500))},
                 {"sha256", std::string(p->sha256)},
                 {"defender_device_id", std::string(p->device_id)}};
    ctx.Emit(std::move(b));
  }

  void Save(learn::StateWriter& w) const override { sets_.Save(w); }
  Status Load(learn::StateReader& r) override { return sets_.Load(r, "hidden-binary-execution"); }
  size_t MemoryUsage() const override { return sets_.MemoryUsage(); }

 private:
  ModelInfo info_;
  DeviceSets sets_;
};

}  // namespace

VIGIL_REGISTER_MODEL(WebServerShellModel);
VIGIL_REGISTER_MODEL(HiddenBinaryModel);

}  // namespace vigil::detect

#include "ingest/defender/hunting.h"

#include <array>
#include <cstring>
#include <string>

#include <absl/container/flat_hash_map.h>

#include "ingest/registry.h"

namespace vigil::ingest::defender {

namespace {

using simdjson::ondemand::object;
using simdjson::ondemand::value;

enum Col : int {
  kTimestamp = 0, kTime, kCategory, kTable, kDeviceId, kDeviceName, kActionType, kFileName,
  kFolderPath, kCommandLine, kSha256, kAccountName, kParentFileName, kParentFolderPath,
  kParentCommandLine, kParentAccountName, kProcessId, kParentProcessId, kOsPlatform,
  kOsVersion, kOsBuild, kPublicIp, kDeviceType, kMachineGroup, kIpAddresses, kMacAddress,
  kCveId, kSeverity, kSoftwareVendor, kSoftwareName, kSoftwareVersion, kLastSeen,
  kContainer,  // "records" or "value": an array of rows
  kColCount,
  kProperties = kColCount,  // recursed into, not stored
  kIgnore,
};

const absl::flat_hash_map<std::string_view, int>& Columns() {
  static const auto* m = new absl::flat_hash_map<std::string_view, int>{
      {"timestamp", kTimestamp},
      {"time", kTime},
      {"category", kCategory},
      {"type", kTable},
      {"$table", kTable},
      {"tablename", kTable},
      {"deviceid", kDeviceId},
      {"devicename", kDeviceName},
      {"actiontype", kActionType},
      {"filename", kFileName},
      {"folderpath", kFolderPath},
      {"processcommandline", kCommandLine},
      {"sha256", kSha256},
      {"accountname", kAccountName},
      {"initiatingprocessfilename", kParentFileName},
      {"initiatingprocessfolderpath", kParentFolderPath},
      {"initiatingprocesscommandline", kParentCommandLine},
      {"initiatingprocessaccountname", kParentAccountName},
      {"processid", kProcessId},
      {"initiatingprocessid", kParentProcessId},
      {"osplatform", kOsPlatform},
      {"osversion", kOsVersion},
      {"osbuild", kOsBuild},
      {"publicip", kPublicIp},
      {"devicetype", kDeviceType},
      {"machinegroup", kMachineGroup},
      {"ipaddresses", kIpAddresses},
      {"macaddress", kMacAddress},
      {"cveid", kCveId},
      {"vulnerabilityseveritylevel", kSeverity},
      {"softwarevendor", kSoftwareVendor},
      {"softwarename", kSoftwareName},
      {"softwareversion", kSoftwareVersion},
      {"lastseentimestamp", kLastSeen},
      {"records", kContainer},
      {"value", kContainer},
      {"properties", kProperties},
  };
  return *m;
}

int LookupColumn(std::string_view key) {
  char buf[48];
  if (key.size() > sizeof buf) return kIgnore;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  auto it = Columns().find(std::string_view(buf, key.size()));
  return it == Columns().end() ? kIgnore : it->second;
}

enum class Table { kUnknown, kDeviceInfo, kDeviceNetworkInfo, kTvm, kProcess, kFile, kOther };

Table TableFromName(std::string_view name) {
  constexpr std::string_view kPrefix = "AdvancedHunting-";
  if (name.substr(0, kPrefix.size()) == kPrefix) name.remove_prefix(kPrefix.size());
  if (name.empty()) return Table::kUnknown;
  if (name == "DeviceInfo") return Table::kDeviceInfo;
  if (name == "DeviceNetworkInfo") return Table::kDeviceNetworkInfo;
  if (name == "DeviceTvmSoftwareVulnerabilities") return Table::kTvm;
  if (name == "DeviceProcessEvents") return Table::kProcess;
  if (name == "DeviceFileEvents") return Table::kFile;
  return Table::kOther;
}

uint64_t ParseU64(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return v;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

struct HuntingDecoder::Row {
  std::array<std::string_view, kColCount> col;
  void Clear() { col.fill({}); }
  std::string_view operator[](int c) const { return col[c]; }
};

size_t HuntingDecoder::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                              std::vector<Event>& events, std::vector<Reject>& rejects) {
  return ForEachJsonValue(data, start, at_end, kMaxHuntingValueBytes, rejects,
                          [&](const JsonValueSpan& v) { DecodeValue(v.text, v.pos, events, rejects); });
}

bool HuntingDecoder::ReadRow(object obj, Row& row, int depth) {
  for (auto field : obj) {
    std::string_view key;
    value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) return false;
    int c = LookupColumn(key);
    if (c == kIgnore) continue;
    if (c == kProperties) {
      object sub;
      if (depth < 2 && !v.get_object().get(sub)) {
        if (!ReadRow(sub, row, depth + 1)) return false;
      }
      continue;
    }
    // Later values do not overwrite earlier ones from the envelope ("time" vs "Timestamp"
    // are different columns, so this only matters for duplicates).
    if (row.col[c].empty()) row.col[c] = TextOf(v, arena_);
  }
  return true;
}

void HuntingDecoder::DecodeValue(std::string_view text, const SourcePos& pos,
                                 std::vector<Event>& events, std::vector<Reject>& rejects) {
  simdjson::ondemand::document doc;
  object obj;
  auto err = parser_.iterate(Padded(text)).get(doc);
  if (!err) err = doc.get_object().get(obj);
  Row row;
  row.Clear();
  if (err || !ReadRow(obj, row, 0)) {
    rejects.push_back(MakeReject(pos, err ? JsonErrorCode(err) : "bad-json",
                                 err ? std::string("not a JSON object: ") +
                                           simdjson::error_message(err)
                                     : "record does not parse as JSON",
                                 text));
    return;
  }
  std::string_view container = row[kContainer];
  if (container.empty()) {
    EmitRow(row, text, pos, events, rejects);
    return;
  }
  // An envelope ({"records": [...]}) or a page ({"value": [...]}): each item is a row.
  simdjson::ondemand::parser nested;
  simdjson::ondemand::document nd;
  simdjson::ondemand::array arr;
  if (container.front() != '[' || nested.iterate(Padded(container)).get(nd) ||
      nd.get_array().get(arr)) {
    rejects.push_back(MakeReject(pos, "wrong-type", "\"records\"/\"value\" is not an array", text));
    return;
  }
  for (auto el : arr) {
    value item;
    if (el.get(item)) {
      rejects.push_back(MakeReject(pos, "bad-json", "array of records breaks off", text));
      return;
    }
    const char* at = container.data();
    if (item.current_location().get(at)) {}
    SourcePos ipos = PosWithin(text, pos, at);
    std::string_view rest(at, static_cast<size_t>(container.data() + container.size() - at));
    std::string_view raw = rest.substr(0, ValueExtent(rest));
    object o;
    Row r;
    r.Clear();
    if (item.get_object().get(o) || !ReadRow(o, r, 0)) {
      rejects.push_back(MakeReject(ipos, "wrong-type", "record is not a JSON object", raw));
      continue;
    }
    EmitRow(r, raw, ipos, events, rejects);
  }
}

void HuntingDecoder::EmitRow(Row& row, std::string_view raw, const SourcePos& pos,
                             std::vector<Event>& events, std::vector<Reject>& rejects) {
  Table table = TableFromName(row[kCategory]);
  if (table == Table::kUnknown) table = TableFromName(row[kTable]);
  if (table == Table::kUnknown) {
    std::string_view action = row[kActionType];
    if (!row[kCveId].empty() || (!row[kSoftwareName].empty() && !row[kSeverity].empty())) {
      table = Table::kTvm;
    } else if (!row[kIpAddresses].empty()) {
      table = Table::kDeviceNetworkInfo;
    } else if (action == "ProcessCreated") {
      table = Table::kProcess;
    } else if (action.substr(0, 4) == "File" && !row[kFolderPath].empty()) {
      table = Table::kFile;
    } else if (!row[kOsPlatform].empty() && action.empty() && !row[kSoftwareName].size()) {
      table = Table::kDeviceInfo;
    } else if (!row[kSoftwareName].empty() && !row[kDeviceId].empty()) {
      table = Table::kTvm;  // the export row of a software with no CVE (cveId null)
    }
  }
  if (table == Table::kUnknown || table == Table::kOther) {
    std::string name(row[kCategory].empty() ? row[kTable] : row[kCategory]);
    rejects.push_back(MakeReject(pos, "unsupported-table",
                                 name.empty() ? "a row of an Advanced Hunting table Vigil does "
                                                "not read (no table name; columns not recognised)"
                                              : "rows of table " + name + " are not read",
                                 raw));
    return;
  }
  Micros t = 0;
  for (int c : {kTimestamp, kTime, kLastSeen}) {
    if (!row[c].empty()) {
      auto parsed = ParseIso8601(row[c]);
      if (!parsed) {
        rejects.push_back(MakeReject(pos, "bad-timestamp",
                                     "timestamp '" + std::string(row[c].substr(0, 40)) +
                                         "' is not ISO 8601",
                                     raw));
        return;
      }
      t = *parsed;
      break;
    }
  }
  if (t == 0) {
    if (table != Table::kTvm || latest_time_ == 0) {
      rejects.push_back(MakeReject(pos, "missing-time",
                                   "row has no Timestamp (add one to the query, e.g. "
                                   "| extend Timestamp = now())",
                                   raw));
      return;
    }
    t = latest_time_;
  }
  if (t > latest_time_) latest_time_ = t;
  Event e;
  e.time = t;
  e.pos = pos;
  e.raw = raw;
  switch (table) {
    case Table::kDeviceInfo: {
      e.kind = EventKind::kDeviceInfo;
      auto& b = e.Set<DeviceInfoBody>();
      b.device_id = row[kDeviceId];
      b.device_name = row[kDeviceName];
      b.os_platform = row[kOsPlatform];
      b.os_version = row[kOsVersion];
      b.os_build = row[kOsBuild];
      b.public_ip = row[kPublicIp];
      b.device_type = row[kDeviceType];
      b.machine_group = row[kMachineGroup];
      break;
    }
    case Table::kDeviceNetworkInfo: {
      e.kind = EventKind::kDeviceNetwork;
      auto& b = e.Set<DeviceNetworkBody>();
      b.device_id = row[kDeviceId];
      b.device_name = row[kDeviceName];
      b.mac_address = row[kMacAddress];
      b.ip_addresses = row[kIpAddresses];
      // IPAddresses is a JSON array (often inside a string): [{"IPAddress":"10.0.0.5",...}].
      // Normalise to "10.0.0.5,fe80::1" for enrichment.
      std::string_view ips = b.ip_addresses;
      if (!ips.empty() && ips.front() == '[') {
        thread_local std::string copy;
        copy.assign(ips);
        simdjson::padded_string padded(copy);
        simdjson::ondemand::parser p;
        simdjson::ondemand::document d;
        simdjson::ondemand::array a;
        std::string joined;
        if (!p.iterate(padded).get(d) && !d.get_array().get(a)) {
          for (auto el : a) {
            value v;
            if (el.get(v)) break;
            std::string_view addr;
            object o;
            simdjson::ondemand::json_type jt;
            if (v.type().get(jt)) break;
            if (jt == simdjson::ondemand::json_type::object) {
              if (v.get_object().get(o)) break;
              value iv;
              if (o.find_field_unordered("IPAddress").get(iv) == simdjson::SUCCESS)
                if (iv.get_string().get(addr)) addr = {};
            } else if (jt == simdjson::ondemand::json_type::string) {
              if (v.get_string().get(addr)) addr = {};
            }
            if (addr.empty()) continue;
            if (!joined.empty()) joined.push_back(',');
            joined.append(addr);
          }
        }
        std::string_view interned;
        if (arena_.Intern(joined, interned)) b.ip_addresses = interned;
      }
      break;
    }
    case Table::kTvm: {
      e.kind = EventKind::kVulnerability;
      auto& b = e.Set<VulnerabilityBody>();
      b.device_id = row[kDeviceId];
      b.device_name = row[kDeviceName];
      b.cve_id = row[kCveId];
      b.severity = row[kSeverity];
      b.software_vendor = row[kSoftwareVendor];
      b.software_name = row[kSoftwareName];
      b.software_version = row[kSoftwareVersion];
      b.os_platform = row[kOsPlatform];
      break;
    }
    case Table::kProcess: {
      e.kind = EventKind::kProcess;
      auto& b = e.Set<ProcessBody>();
      b.device_id = row[kDeviceId];
      b.device_name = row[kDeviceName];
      b.action_type = row[kActionType];
      b.file_name = row[kFileName];
      b.folder_path = row[kFolderPath];
      b.command_line = row[kCommandLine];
      b.sha256 = row[kSha256];
      b.account_name = row[kAccountName].empty() ? row[kParentAccountName] : row[kAccountName];
      b.parent_file_name = row[kParentFileName];
      b.parent_folder_path = row[kParentFolderPath];
      b.parent_command_line = row[kParentCommandLine];
      b.process_id = ParseU64(row[kProcessId]);
      b.parent_process_id = ParseU64(row[kParentProcessId]);
      break;
    }
    case Table::kFile: {
      e.kind = EventKind::kFileActivity;
      auto& b = e.Set<FileActivityBody>();
      b.device_id = row[kDeviceId];
      b.device_name = row[kDeviceName];
      b.action_type = row[kActionType];
      b.file_name = row[kFileName];
      b.folder_path = row[kFolderPath];
      b.sha256 = row[kSha256];
      b.initiating_process_file_name = row[kParentFileName];
      b.initiating_process_folder_path = row[kParentFolderPath];
      b.initiating_process_command_line = row[kParentCommandLine];
      break;
    }
    default:
      return;
  }
  events.push_back(e);
}

int SniffDefenderHunting(std::string_view head, std::string_view path) {
  auto has = [&](const char* s) { return head.find(s) != std::string_view::npos; };
  if (has("\"category\":\"AdvancedHunting-") || has("\"category\": \"AdvancedHunting-"))
    return 95;
  if (has("microsoft.windowsDefenderATP.api.AssetVulnerability")) return 90;
  bool row = has("\"DeviceId\"") && has("\"Timestamp\"");
  if (row && (has("\"InitiatingProcessFileName\"") || has("\"OSPlatform\"") ||
              has("\"IPAddresses\"") || has("\"CveId\"")))
    return 80;
  if (has("\"CveId\"") && has("\"SoftwareName\"")) return 80;
  if (path.find("AdvancedHunting") != std::string_view::npos) return 60;
  return 0;
}

VIGIL_REGISTER_FORMAT(FormatInfo{
    "defender-hunting",
    "Microsoft Defender Advanced Hunting rows (JSON lines, streaming API records, exports)",
    [] { return std::unique_ptr<Decoder>(std::make_unique<HuntingDecoder>()); },
    SniffDefenderHunting});

}  // namespace vigil::ingest::defender

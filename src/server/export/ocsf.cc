#include "server/export/ocsf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/time.h"

namespace vigil::server::exp {

namespace {

const char* SeverityName(int id) {
  switch (id) {
    case 1: return "Informational";
    case 2: return "Low";
    case 3: return "Medium";
    case 4: return "High";
    default: return "Critical";
  }
}

// OCSF times are milliseconds since the epoch; Vigil records carry RFC 3339 text.
std::optional<int64_t> MillisOf(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const auto& v = j[key];
  if (v.is_number_integer()) return v.get<int64_t>() / 1000;  // micros
  if (v.is_string()) {
    auto t = ParseIso8601(v.get<std::string>());
    if (t) return *t / 1000;
  }
  return std::nullopt;
}

nlohmann::json Metadata(const std::string& uid) {
  return {{"version", "1.1.0"},
          {"uid", uid},
          {"product", {{"name", "Vigil"}, {"vendor_name", "Vigil"}, {"version", "0.1.0"}}}};
}

nlohmann::json Resource(const nlohmann::json& e, const char* role) {
  nlohmann::json r = {{"uid", e.value("id", "")},
                      {"name", e.value("name", e.value("id", ""))},
                      {"type", e.value("type", "")},
                      {"role_id", 99},
                      {"role", role}};
  return r;
}

nlohmann::json Base(int score, const std::string& uid) {
  int sev = OcsfSeverityId(score);
  return {{"activity_id", 1},
          {"activity_name", "Create"},
          {"category_uid", 2},
          {"category_name", "Findings"},
          {"class_uid", 2004},
          {"class_name", "Detection Finding"},
          {"type_uid", 200401},
          {"type_name", "Detection Finding: Create"},
          {"severity_id", sev},
          {"severity", SeverityName(sev)},
          {"status_id", 1},
          {"status", "New"},
          {"risk_score", score},
          {"metadata", Metadata(uid)}};
}

}  // namespace

int OcsfSeverityId(int score) {
  if (score < 25) return 1;
  if (score < 50) return 2;
  if (score < 75) return 3;
  if (score < 90) return 4;
  return 5;
}

nlohmann::json BreachToOcsf(const nlohmann::json& b) {
  int score = b.value("score", 0);
  std::string id = b.value("id", "");
  nlohmann::json o = Base(score, id);
  auto t = MillisOf(b, "time");
  if (t) o["time"] = *t;
  nlohmann::json fi = {{"uid", id},
                       {"title", b.value("model", "")},
                       {"types", nlohmann::json::array({b.value("model", "")})},
                       {"analytic",
                        {{"name", b.value("model", "")}, {"type_id", 3}, {"type", "Statistical"}}}};
  std::string desc;
  if (b.contains("reasons") && b["reasons"].is_array()) {
    for (const auto& r : b["reasons"]) {
      if (!r.is_string()) continue;
      if (!desc.empty()) desc += " ";
      desc += r.get<std::string>();
    }
  }
  if (!desc.empty()) fi["desc"] = desc;
  if (t) {
    fi["created_time"] = *t;
    fi["first_seen_time"] = *t;
    fi["last_seen_time"] = *t;
  }
  if (b.contains("mitre") && b["mitre"].is_array() && !b["mitre"].empty()) {
    nlohmann::json attacks = nlohmann::json::array();
    for (const auto& m : b["mitre"]) {
      if (m.is_string()) attacks.push_back({{"technique", {{"uid", m}}}});
    }
    fi["attacks"] = attacks;
  }
  o["finding_info"] = fi;
  nlohmann::json resources = nlohmann::json::array();
  if (b.contains("entity") && b["entity"].is_object()) resources.push_back(Resource(b["entity"], "entity"));
  if (b.contains("peer") && b["peer"].is_object()) resources.push_back(Resource(b["peer"], "peer"));
  o["resources"] = resources;
  if (b.contains("events") && b["events"].is_array()) {
    nlohmann::json ev = nlohmann::json::array();
    for (const auto& e : b["events"]) {
      nlohmann::json x = {{"data", e}};
      ev.push_back(x);
    }
    o["evidences"] = ev;
  }
  o["message"] = b.value("model", "") + " on " +
                 (b.contains("entity") ? b["entity"].value("name", "") : std::string());
  o["unmapped"] = {{"vigil", {{"kind", "breach"}, {"record", b}}}};
  return o;
}

nlohmann::json IncidentToOcsf(const nlohmann::json& inc) {
  int score = inc.value("score", 0);
  std::string id = inc.value("id", "");
  nlohmann::json o = Base(score, id);
  auto start = MillisOf(inc, "start");
  auto end = MillisOf(inc, "end");
  if (end) o["time"] = *end; else if (start) o["time"] = *start;
  nlohmann::json fi = {{"uid", id},
                       {"title", inc.value("title", "")},
                       {"types", nlohmann::json::array({"incident"})},
                       {"desc", inc.value("summary", "")}};
  if (start) fi["first_seen_time"] = *start;
  if (end) fi["last_seen_time"] = *end;
  if (inc.contains("breaches") && inc["breaches"].is_array()) {
    nlohmann::json rel = nlohmann::json::array();
    for (const auto& b : inc["breaches"]) {
      if (b.is_string()) rel.push_back({{"uid", b}, {"type", "breach"}});
    }
    fi["related_events"] = rel;
  }
  o["finding_info"] = fi;
  nlohmann::json resources = nlohmann::json::array();
  if (inc.contains("entities") && inc["entities"].is_array()) {
    for (const auto& e : inc["entities"]) {
      if (e.is_object()) resources.push_back(Resource(e, "entity"));
      else if (e.is_string()) resources.push_back({{"uid", e}, {"name", e}});
    }
  }
  o["resources"] = resources;
  o["message"] = inc.value("title", "");
  o["unmapped"] = {{"vigil", {{"kind", "incident"}, {"record", inc}}}};
  return o;
}

OcsfFileSink::OcsfFileSink(std::string path) : path_(std::move(path)), name_("ocsf:" + path_) {}

OcsfFileSink::~OcsfFileSink() { (void)Close(); }

Status OcsfFileSink::Write(const ExportRecord& r) {
  if (closed_) return Internal(name_ + ": write after close");
  if (!f_) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return IoError(name_ + ": cannot open: " + std::strerror(errno));
    f_ = ::fdopen(fd, "a");
    if (!f_) {
      ::close(fd);
      return IoError(name_ + ": cannot open: " + std::strerror(errno));
    }
  }
  nlohmann::json o = r.kind == "incident" ? IncidentToOcsf(r.record) : BreachToOcsf(r.record);
  std::string line = o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size()) {
    return IoError(name_ + ": write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

Status OcsfFileSink::Flush() {
  if (f_ && std::fflush(f_) != 0) return IoError(name_ + ": flush failed: " + std::strerror(errno));
  return Status::Ok();
}

Status OcsfFileSink::Close() {
  Status st = Flush();
  if (f_) std::fclose(f_);
  f_ = nullptr;
  closed_ = true;
  return st;
}

}  // namespace vigil::server::exp

#include "pipeline/session.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/thread_cpu.h"

namespace vigil::pipeline {

namespace fs = std::filesystem;

namespace {

// Entities stored per UpsertEntities call (and transaction) when the store is brought up
// to date: small enough that the records stay in the cache, large enough that the
// transactions' own cost is lost in the rows'.
constexpr size_t kEntityFlushBatch = 4096;

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::FILE* OpenOut(const std::string& path) {
  if (path.empty()) return nullptr;
  if (path == "-") return stdout;
  return std::fopen(path.c_str(), "wb");
}

void WriteLine(std::FILE* f, const nlohmann::json& j) {
  if (!f) return;
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s.push_back('\n');
  std::fwrite(s.data(), 1, s.size(), f);
}

}  // namespace

Session::Session(config::Config cfg, SessionOptions opts) : cfg_(std::move(cfg)), opts_(std::move(opts)) {}

Session::~Session() {
  if (breaches_out_ && breaches_out_ != stdout) std::fclose(breaches_out_);
  if (incidents_out_ && incidents_out_ != stdout) std::fclose(incidents_out_);
}

Status Session::Open() {
  open_start_ = Clock::now();
  cpu_at_open_ = ThreadCpuSeconds();
  std::error_code ec;
  fs::create_directories(opts_.state_dir, ec);
  if (ec) return IoError("cannot create state dir " + opts_.state_dir + ": " + ec.message());
  auto st = store::OpenStore(cfg_, opts_.state_dir);  // store.backend: sqlite or postgres
  if (!st.ok()) return st.status();
  store_ = std::move(st.value());
  if (cfg_.GetBool("store.event_log.enabled")) {
    event_log_ = std::make_unique<EventLog>(*store_);
    event_log_retention_ = cfg_.GetDuration("store.event_log.retention");
    event_log_max_rows_ = static_cast<uint64_t>(std::max(0.0, cfg_.GetNumber("store.event_log.max_rows")));
  }
  breaches_out_ = OpenOut(opts_.breaches_path);
  if (!opts_.breaches_path.empty() && !breaches_out_)
    return IoError("cannot write breaches to " + opts_.breaches_path);
  incidents_out_ = OpenOut(opts_.incidents_path);
  if (!opts_.incidents_path.empty() && !incidents_out_)
    return IoError("cannot write incidents to " + opts_.incidents_path);
  analyst_ = std::make_unique<analyst::Analyst>(cfg_);
  // Response: live (`vigil run`) calls the configured backends; a replay runs the same
  // policy on event time but only records what would have been done and when.
  std::vector<std::unique_ptr<respond::Backend>> backends;
  if (opts_.follow) {
    auto b = respond::MakeBackends(cfg_);
    if (!b.ok()) return b.status();
    backends = std::move(b.value());
  }
  responder_ = std::make_unique<respond::Responder>(cfg_, std::move(backends));
  if (!responder_->init_status().ok())
    std::cerr << "vigil: respond config: " << responder_->init_status().message() << " (observe only)\n";
  responder_->set_simulate(!opts_.follow);
  if (event_log_) {
    responder_->set_known_peers([this](const std::string& device, Micros before, size_t limit) {
      std::vector<std::string> out;
      event_log_->Flush();  // the peers of the last few seconds are in the log too
      auto peers = store_->Peers(device, before, limit);
      if (!peers.ok()) {
        std::cerr << "vigil: known peers of " << device << ": " << peers.status().message() << "\n";
        return out;
      }
      for (auto& p : *peers) out.push_back(std::move(p.peer));
      return out;
    });
  }
  response_glue_ = std::make_unique<ResponseGlue>(*responder_, *store_);
  response_glue_->on_stored = [this](const nlohmann::json& action) {
    if (publish) publish("action", action);
  };

  EngineOutputs out;
  out.on_breach = [this](const detect::Breach& b) { OnBreach(b); };
  out.on_suppressed = [this](const detect::Breach& b) { pending_breaches_.push_back(b); };
  out.on_event = [this](const Event& e) {
    if (e.kind == EventKind::kDeviceInfo || e.kind == EventKind::kDeviceNetwork ||
        e.kind == EventKind::kVulnerability)
      device_facts_.Observe(e);
    if (event_log_) {
      const auto& files = engine_->files();
      event_log_->Add(e, e.pos.input < files.size() ? std::string_view(files[e.pos.input].path)
                                                    : std::string_view());
    }
  };
  out.on_advance = [this](Micros now) {
    analyst_->Advance(now);
    WriteIncidents(analyst_->TakeUpdated());
    responder_->Advance(now);
    PublishActions();
    if (pending_breaches_.size() > 1000) FlushToStore();
  };
  out.save_extra = [this](learn::StateWriter& w) {
    learn::StateWriter a;
    analyst_->Save(a);
    w.Str(a.data());
    w.Str(responder_->Save());
  };
  out.load_extra = [this](learn::StateReader& r) {
    std::string a = r.Str();
    learn::StateReader ar(a);
    Status s = analyst_->Load(ar);
    if (!s.ok()) std::cerr << "vigil: analyst state not restored: " << s.message() << "\n";
    std::string resp = r.Str();
    if (!resp.empty()) {
      Status rs = responder_->Load(resp);
      if (!rs.ok()) std::cerr << "vigil: response state not restored: " << rs.message() << "\n";
    }
  };
  std::string dead_letter = cfg_.GetString("ingest.dead_letter");
  if (!dead_letter.empty() && fs::path(dead_letter).is_relative())
    dead_letter = (fs::path(opts_.state_dir) / dead_letter).string();
  engine_ = std::make_unique<Engine>(cfg_, std::move(out), dead_letter);
  engine_->set_follow(opts_.follow);
  VIGIL_RETURN_IF_ERROR(engine_->AddInputs(opts_.inputs));
  if (opts_.resume) {
    auto cp = store_->LoadCheckpoint();
    if (!cp.ok()) return cp.status();
    if (cp.value()) VIGIL_RETURN_IF_ERROR(engine_->Restore(*cp.value()));
  }
  open_end_ = Clock::now();
  return Status::Ok();
}

void Session::OnBreach(const detect::Breach& b) {
  if (!b.weak) WriteLine(breaches_out_, detect::BreachToJson(b));
  pending_breaches_.push_back(b);
  analyst_->OnBreach(b);
  if (!b.weak) responder_->OnBreach(b, b.time);
  if (publish && !b.weak) publish("breach", detect::BreachToJson(b));
}

void Session::PublishActions() {
  Status s = response_glue_->Flush();
  if (!s.ok()) std::cerr << "vigil: storing actions: " << s.message() << "\n";
}

void Session::WriteIncidents(const std::vector<analyst::Incident>& incidents) {
  for (const auto& inc : incidents) {
    nlohmann::json j = analyst::IncidentToJson(inc);
    Status s = store_->PutIncident(inc.id, inc.start, inc.end, inc.score, inc.state, j);
    if (!s.ok()) std::cerr << "vigil: storing incident " << inc.id << ": " << s.message() << "\n";
    ++incident_ids_[inc.id];
    responder_->OnIncident(j, inc.updated ? inc.updated : inc.end);
    if (publish) publish("incident", j);
  }
}

void Session::FlushToStore() {
  if (!pending_breaches_.empty()) {
    Status s = store_->PutBreaches(pending_breaches_);
    if (!s.ok()) std::cerr << "vigil: storing breaches: " << s.message() << "\n";
    pending_breaches_.clear();
  }
  Status entities = engine_->FlushDirtyEntities(
      kEntityFlushBatch, [&](const std::vector<store::EntityRecord>& batch) { return store_->UpsertEntities(batch); });
  if (!entities.ok()) std::cerr << "vigil: storing entities: " << entities.message() << "\n";
  std::vector<store::EntityRecord> facts;
  for (auto& d : device_facts_.TakeEntities()) {
    store::EntityRecord r;
    r.type = d.type;
    r.id = d.id;
    r.name = d.name;
    r.addresses = d.addresses;
    r.first_seen = d.first_seen;
    r.last_seen = d.last_seen;
    r.facts = d.facts;
    facts.push_back(std::move(r));
  }
  if (!facts.empty()) {
    Status s = store_->UpsertEntities(facts);
    if (!s.ok()) std::cerr << "vigil: storing device facts: " << s.message() << "\n";
  }
  for (auto& [id, cves] : device_facts_.TakeVulnerabilities()) {
    Status s = store_->PutVulnerabilities(id, cves);
    if (!s.ok()) std::cerr << "vigil: storing vulnerabilities: " << s.message() << "\n";
  }
  auto rejects = engine_->TakeRejectCounts();
  if (!rejects.empty()) {
    Status s = store_->AddRejects(rejects);
    if (!s.ok()) std::cerr << "vigil: storing reject counts: " << s.message() << "\n";
  }
}

void Session::FlushAll() {
  // The store writes first, while the event log's writer thread drains its queue; the
  // ingest stats last, so they count every event the log stored.
  FlushToStore();
  FlushEventLog();
  Status s = store_->PutIngestStats(StatsJson());
  if (!s.ok()) std::cerr << "vigil: storing ingest stats: " << s.message() << "\n";
}

void Session::FlushEventLog() {
  if (!event_log_) return;
  // Everything up to the checkpoint is in the log; then what is past retention goes.
  Micros now = engine_->now();
  if (event_log_retention_ > 0 && now > INT64_MIN + event_log_retention_) {
    auto pruned = event_log_->Prune(now - event_log_retention_);
    if (!pruned.ok()) std::cerr << "vigil: pruning the event log: " << pruned.status().message() << "\n";
  } else {
    event_log_->Flush();
  }
  if (event_log_max_rows_ > 0) {
    auto capped = store_->CapEvents(event_log_max_rows_);
    if (!capped.ok()) std::cerr << "vigil: capping the event log: " << capped.status().message() << "\n";
  }
}

Status Session::Checkpoint() {
  store::Checkpoint cp = engine_->MakeCheckpoint();
  FlushAll();
  cp.saved_at = WallNow();
  last_checkpoint_wall_ = cp.saved_at;
  return store_->SaveCheckpoint(cp);
}

Status Session::Run(const std::atomic<bool>* stop) {
  run_start_ = Clock::now();
  Micros interval = cfg_.GetDuration("state.checkpoint_interval");
  Micros poll = std::max<Micros>(cfg_.GetDuration("ingest.poll_interval"), 10'000);
  last_checkpoint_wall_ = WallNow();
  auto on_idle = [&]() {
    if (event_log_) event_log_->Nudge();
    responder_->Advance(engine_->now());
    PublishActions();
    auto applied = response_glue_->ApplyRequests(engine_->now());
    if (!applied.ok()) std::cerr << "vigil: applying approvals: " << applied.status().message() << "\n";
    if (WallNow() - last_checkpoint_wall_ >= interval) {
      Status s = Checkpoint();
      if (!s.ok()) std::cerr << "vigil: checkpoint failed: " << s.message() << "\n";
    }
    std::this_thread::sleep_for(std::chrono::microseconds(poll));
  };
  VIGIL_RETURN_IF_ERROR(engine_->Run(stop, on_idle));
  processed_ = Clock::now();
  analyst_->Advance(engine_->now());
  WriteIncidents(analyst_->TakeUpdated());
  responder_->Advance(engine_->now());
  PublishActions();
  if (opts_.follow || opts_.resume) {
    VIGIL_RETURN_IF_ERROR(Checkpoint());
  } else {
    FlushAll();
  }
  if (breaches_out_) std::fflush(breaches_out_);
  if (incidents_out_) {
    // The incidents file holds the latest version of each incident, one a line.
    std::vector<nlohmann::json> all;
    auto list = store_->ListIncidents(100000, 0);
    if (list.ok()) {
      for (const auto& j : list.value())
        if (incident_ids_.count(j.value("id", ""))) all.push_back(j);
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return std::make_pair(a.value("start", ""), a.value("id", "")) <
             std::make_pair(b.value("start", ""), b.value("id", ""));
    });
    for (const auto& j : all) WriteLine(incidents_out_, j);
    std::fflush(incidents_out_);
  }
  run_end_ = Clock::now();
  engine_cpu_ = ThreadCpuSeconds() - cpu_at_open_;
  return Status::Ok();
}

nlohmann::json Session::StatsJson() const {
  nlohmann::json j = engine_->stats().ToJson();
  j["incidents"] = incident_ids_.size();
  if (event_log_) {
    j["event_log_written"] = event_log_->written();
    j["event_log_failed"] = event_log_->failed();
  }
  // Where the wall time went, once a run has ended (not in the copy stored at the end).
  if (run_end_ != Clock::time_point{}) {
    auto seconds = [](Clock::time_point a, Clock::time_point b) {
      return std::round(std::chrono::duration<double>(b - a).count() * 1000) / 1000;
    };
    j["seconds"] = {{"open", seconds(open_start_, open_end_)},
                    {"read_and_detect", seconds(run_start_, processed_)},
                    {"store_at_end", seconds(processed_, run_end_)}};
    // And where the CPU went, thread by thread (in the same run; start-up and exit are the
    // process's alone).
    auto round = [](double v) { return std::round(v * 1e6) / 1e6; };
    const Engine::ThreadCpu& t = engine_->thread_cpu();
    j["cpu_seconds"] = {{"engine", round(engine_cpu_)},
                        {"models", round(t.models.seconds())},
                        {"event_log", round(event_log_ ? event_log_->cpu_seconds() : 0)},
                        {"decode_ahead", round(t.decode_ahead.seconds())},
                        {"entity_store", round(t.entity_store.seconds())}};
    // What the learned state holds, by part: which model to look at when memory grows.
    const Engine::MemoryUse mem = engine_->MemoryUsage();
    nlohmann::json by_model = nlohmann::json::object();
    for (const auto& [name, bytes] : mem.by_model)
      if (bytes) by_model[name] = bytes;
    j["state_memory_bytes"] = {{"total", mem.total()},
                               {"entities", mem.entities},
                               {"network_stats", mem.network_stats},
                               {"models", by_model}};
    // engine.profile_steps: cycles an event, by step.
    if (engine_->profiling_steps()) {
      const Engine::StepProfile p = engine_->step_profile();
      const double n = static_cast<double>(std::max<uint64_t>(p.events, 1));
      auto per = [n](uint64_t c) { return std::round(static_cast<double>(c) / n); };
      nlohmann::json models = nlohmann::json::object();
      for (const auto& [name, c] : p.by_model) models[name] = per(c);
      j["cycles_per_event"] = {{"events", p.events},
                               {"engine",
                                {{"enrich", per(p.enrich)},
                                 {"network_stats", per(p.network_stats)},
                                 {"entities", per(p.entities)},
                                 {"event_log", per(p.on_event)},
                                 {"to_models", per(p.to_models)}}},
                               {"model_side",
                                {{"prefetch_stage0", per(p.prefetch_stage0)},
                                 {"prefetch_stage1", per(p.prefetch_stage1)},
                                 {"observe", per(p.observe)}}},
                               {"models", models}};
    }
  }
  j["inputs"] = nlohmann::json::array();
  for (const auto& f : engine_->files())
    j["inputs"].push_back({{"path", f.path}, {"format", f.format}});
  // Events by format, from the engine's per-file accounting.
  return j;
}

std::string Session::SummaryText() const {
  const auto& s = engine_->stats();
  std::ostringstream os;
  os << "events read: " << s.events;
  if (s.events) os << " (" << FormatRfc3339(s.first_event) << " .. " << FormatRfc3339(s.last_event) << ")";
  os << "\n";
  for (const auto& [fmt, n] : s.events_by_format) os << "  " << fmt << ": " << n << "\n";
  os << "rejected records: " << s.rejects << "\n";
  for (const auto& [code, n] : s.rejects_by_code) os << "  " << code << ": " << n << "\n";
  if (s.late) os << "late events (beyond the reorder window, processed): " << s.late << "\n";
  uint64_t total = 0;
  for (const auto& [m, n] : s.breaches_by_model) total += n;
  os << "breaches: " << total << "\n";
  for (const auto& [m, n] : s.breaches_by_model) os << "  " << m << ": " << n << "\n";
  uint64_t weak = 0;
  for (const auto& [m, n] : s.weak_by_model) weak += n;
  if (weak) os << "weak signals (below threshold, kept for the analyst): " << weak << "\n";
  if (s.suppressed_allow) os << "suppressed by the allow list: " << s.suppressed_allow << "\n";
  os << "incidents: " << incident_ids_.size() << "\n";
  os << "state: " << opts_.state_dir << "\n";
  return os.str();
}

}  // namespace vigil::pipeline

// OCSF export: breaches and incidents as OCSF 1.1 Detection Finding objects (class_uid
// 2004), one JSON object a line, appended to a file that SIEMs and data lakes ingest.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "server/export/sink.h"

namespace vigil::server::exp {

// OCSF severity_id from a 0-100 score: 1 informational (<25), 2 low (<50), 3 medium (<75),
// 4 high (<90), 5 critical.
int OcsfSeverityId(int score);

// Maps a breach (BreachToJson shape) to a Detection Finding. Missing fields are left out
// rather than invented; the original record is kept under "unmapped.vigil".
nlohmann::json BreachToOcsf(const nlohmann::json& breach);
// Maps an incident (id, title, score, start, end, entities, breaches, tactics, summary).
nlohmann::json IncidentToOcsf(const nlohmann::json& incident);

// Appends findings to `path` (created 0640 if missing). Write buffers; Flush makes them
// reach the file.
class OcsfFileSink : public Sink {
 public:
  explicit OcsfFileSink(std::string path);
  ~OcsfFileSink() override;
  const std::string& name() const override { return name_; }
  Status Write(const ExportRecord& r) override;
  Status Flush() override;
  Status Close() override;

 private:
  std::string path_;
  std::string name_;
  FILE* f_ = nullptr;
  bool closed_ = false;
};

}  // namespace vigil::server::exp

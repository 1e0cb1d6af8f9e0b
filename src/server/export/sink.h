// Sink: where breaches and incidents leave Vigil (STYLE.md rule 17). Every export (OCSF
// JSON lines, syslog with CEF, webhooks) implements this one small interface, so the
// Exporter treats them alike and a failing sink reports why while the others, and
// detection, go on.
//
// A sink is used from one thread at a time (the Exporter's worker); it need not lock.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace vigil::server::exp {

// One record to export: `kind` is "breach" or "incident"; `record` is the record as the
// store and the API give it (detect::BreachToJson, analyst's incident JSON).
struct ExportRecord {
  std::string kind;
  nlohmann::json record;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // A short name for logs and metrics: "ocsf:/var/vigil/findings.jsonl".
  virtual const std::string& name() const = 0;
  // Sends or buffers one record. An error means this record was not delivered (a webhook
  // sink has then already written it to its dead-letter file).
  virtual Status Write(const ExportRecord& r) = 0;
  // Pushes buffered records out.
  virtual Status Flush() = 0;
  // Flushes and releases files and sockets; Write after Close fails.
  virtual Status Close() = 0;
};

}  // namespace vigil::server::exp

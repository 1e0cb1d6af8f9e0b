#include "server/export/exporter.h"

#include <iostream>

#include "core/time.h"
#include "server/event_hub.h"
#include "server/export/ocsf.h"
#include "server/export/syslog.h"
#include "server/export/webhook.h"

namespace vigil::server::exp {

Exporter::Exporter(std::vector<std::unique_ptr<Sink>> sinks) : sinks_(std::move(sinks)) {
  for (const auto& s : sinks_) stats_.push_back({s->name(), 0, 0, ""});
  worker_ = std::thread([this] { Run(); });
}

Exporter::~Exporter() { Close(); }

void Exporter::Submit(ExportRecord r) {
  if (r.kind != "breach" && r.kind != "incident") return;
  if (sinks_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    queue_.push_back(std::move(r));
    while (queue_.size() > kMaxExportQueue) {
      queue_.pop_front();
      dropped_++;
    }
  }
  cv_.notify_one();
}

void Exporter::Attach(EventHub& hub) {
  Detach();
  hub_ = &hub;
  listener_ = hub.AddListener([this](const HubEvent& ev) { Submit({ev.type, ev.record}); });
}

void Exporter::Detach() {
  if (hub_) hub_->RemoveListener(listener_);
  hub_ = nullptr;
}

void Exporter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stop_) break;
      continue;
    }
    ExportRecord r = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::vector<Status> results;
    results.reserve(sinks_.size());
    for (auto& s : sinks_) {
      Status st = s->Write(r);
      if (st.ok()) st = s->Flush();
      results.push_back(std::move(st));
    }
    lock.lock();
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok()) {
        stats_[i].written++;
      } else {
        stats_[i].failed++;
        stats_[i].last_error = results[i].message();
        std::cerr << "vigil: export: " << results[i].ToString() << "\n";
      }
    }
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  busy_ = false;
  idle_cv_.notify_all();
}

void Exporter::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return (queue_.empty() && !busy_) || !worker_.joinable(); });
}

void Exporter::Close() {
  Detach();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !worker_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  for (auto& s : sinks_) {
    Status st = s->Close();
    if (!st.ok()) std::cerr << "vigil: export: " << st.ToString() << "\n";
  }
}

std::vector<SinkStats> Exporter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

namespace {

std::string UnderState(const std::string& state_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || state_dir.empty()) return p;
  return state_dir + "/" + p;
}

}  // namespace

Result<std::vector<std::unique_ptr<Sink>>> MakeSinksFromConfig(const config::Config& cfg,
                                                               const std::string& state_dir) {
  std::vector<std::unique_ptr<Sink>> sinks;
  std::string errors;
  std::string ocsf = cfg.GetString("exports.ocsf");
  if (!ocsf.empty()) sinks.push_back(std::make_unique<OcsfFileSink>(UnderState(state_dir, ocsf)));
  YAML::Node syslog = cfg.Node("exports.syslog");
  if (syslog.IsSequence()) {
    for (const auto& item : syslog) {
      SyslogOptions o;
      if (item["host"]) o.host = item["host"].as<std::string>("");
      if (item["port"]) o.port = item["port"].as<int>(514);
      if (item["transport"]) o.transport = item["transport"].as<std::string>("udp");
      if (item["facility"]) o.facility = ParseFacility(item["facility"].as<std::string>(""));
      if (o.transport != "udp" && o.transport != "tcp") {
        errors += "exports.syslog: transport must be udp or tcp, not '" + o.transport + "'; ";
        continue;
      }
      if (o.facility < 0) {
        errors += "exports.syslog: unknown facility '" + item["facility"].as<std::string>("") + "'; ";
        continue;
      }
      if (o.host.empty() || o.port <= 0 || o.port > 65535) {
        errors += "exports.syslog: an item needs a host and a port in 1-65535; ";
        continue;
      }
      sinks.push_back(std::make_unique<SyslogSink>(o));
    }
  }
  YAML::Node hooks = cfg.Node("exports.webhooks");
  if (hooks.IsSequence()) {
    for (const auto& item : hooks) {
      WebhookOptions o;
      o.url = item["url"] ? item["url"].as<std::string>("") : "";
      auto url = ParseHttpUrl(o.url);
      if (!url.ok()) {
        errors += "exports.webhooks: " + url.status().message() + "; ";
        continue;
      }
      if (item["headers"] && item["headers"].IsMap()) {
        for (const auto& kv : item["headers"]) {
          o.headers[kv.first.as<std::string>("")] = kv.second.as<std::string>("");
        }
      }
      if (item["retries"]) o.retries = item["retries"].as<int>(3);
      if (item["timeout"]) {
        auto d = ParseDuration(item["timeout"].as<std::string>(""));
        if (!d) {
          errors += "exports.webhooks: timeout must be a duration such as 5s; ";
          continue;
        }
        o.timeout_ms = static_cast<int>(*d / 1000);
      }
      o.dead_letter = UnderState(
          state_dir, item["dead_letter"] ? item["dead_letter"].as<std::string>("") : "webhook-dead-letter.jsonl");
      sinks.push_back(std::make_unique<WebhookSink>(o));
    }
  }
  if (!errors.empty()) return InvalidArgument(errors.substr(0, errors.size() - 2));
  return sinks;
}

}  // namespace vigil::server::exp

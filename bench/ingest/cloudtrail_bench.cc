// CloudTrail throughput beside the simdjson reference the issue's target is a ratio of
// (issue 4, "Tests and numbers": at least 0.25 of simdjson counting the same records):
//   BM_Simdjson_CountCloudTrailRecords  On-Demand walk of {"Records":[...]} counting records
//   BM_CloudTrail_DecodeDocument        "cloudtrail": every record to an Event
//   BM_Simdjson_CountCloudTrailLines    iterate_many over the same records one a line
//   BM_CloudTrailJsonl_Decode           "cloudtrail-jsonl" in 1 MiB chunks
//   BM_CloudTrail_DecodeEnrichDetect    JSON lines -> decode -> cloud identity enrichment ->
//                                       the seven cloud models (no store, no engine)
// items/s in the output is records/s. The data: kRecords realistic records (about 1.1 KB
// each: IAM users and assumed-role sessions, console and CLI user agents, reads and writes
// over eight services, some AccessDenied) from a fixed-seed LCG, so every run sees the same
// bytes.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "detect/model.h"
#include "detect/testing.h"
#include "enrich/cloud_identity.h"
#include "ingest/cloudtrail/cloudtrail.h"

namespace vigil::ingest::cloudtrail {
namespace {

constexpr size_t kRecords = 50'000;
constexpr size_t kChunkBytes = 1u << 20;

struct Lcg {
  uint64_t s = 0x2545F4914F6CDD1DULL;
  uint32_t Next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 33);
  }
};

struct Data {
  std::string doc, lines;
};

const Data& GetData() {
  static const Data data = [] {
    Data d;
    Lcg rng;
    static const char* kCalls[][2] = {
        {"ec2.amazonaws.com", "DescribeInstances"}, {"s3.amazonaws.com", "ListBuckets"},
        {"iam.amazonaws.com", "ListUsers"},        {"s3.amazonaws.com", "GetObject"},
        {"lambda.amazonaws.com", "ListFunctions20150331"}, {"sts.amazonaws.com", "GetCallerIdentity"},
        {"ec2.amazonaws.com", "RunInstances"},     {"iam.amazonaws.com", "AttachUserPolicy"}};
    static const char* kUas[] = {
        "console.ec2.amazonaws.com",
        "aws-cli/2.13.0 Python/3.11.4 Linux/6.1.0 exe/x86_64.debian prompt/off command/s3.ls",
        "Boto3/1.28.0 md/Botocore#1.31.0 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.4",
        "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0"};
    d.doc = "{\"Records\":[";
    char rec[2048];
    for (size_t i = 0; i < kRecords; ++i) {
      uint32_t u = rng.Next() % 500, c = rng.Next() % 8, ua = rng.Next() % 4;
      bool role = u % 3 == 0;
      unsigned sec = static_cast<unsigned>(i / 10);
      char identity[512];
      if (role) {
        std::snprintf(identity, sizeof identity,
                      R"({"type":"AssumedRole","principalId":"AROAEXAMPLE%03u:session-%u","arn":"arn:aws:sts::111122223333:assumed-role/role-%u/session-%u","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE%09u","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE%03u","arn":"arn:aws:iam::111122223333:role/role-%u","accountId":"111122223333","userName":"role-%u"},"webIdFederationData":{},"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"false"}}})",
                      u, u, u, u, u, u, u, u);
      } else {
        std::snprintf(identity, sizeof identity,
                      R"({"type":"IAMUser","principalId":"AIDAEXAMPLE%06u","arn":"arn:aws:iam::111122223333:user/user-%u","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE%09u","userName":"user-%u","sessionContext":{"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"true"}}})",
                      u, u, u, u);
      }
      int n = std::snprintf(
          rec, sizeof rec,
          R"({"eventVersion":"1.08","userIdentity":%s,"eventTime":"2024-01-%02uT%02u:%02u:%02uZ","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"%u.%u.%u.%u","userAgent":"%s",%s"requestParameters":{"maxResults":100,"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}},"responseElements":null,"requestID":"%08x-1111-2222-3333-444455556666","eventID":"%08x-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":%s,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}})",
          identity, 1 + sec / 86400 % 28, sec / 3600 % 24, sec / 60 % 60, sec % 60,
          kCalls[c][0], kCalls[c][1], 20 + u % 200, u % 256, (u * 7) % 256, 1 + u % 250, kUas[ua],
          rng.Next() % 50 == 0 ? R"("errorCode":"AccessDenied","errorMessage":"User is not authorized",)" : "",
          static_cast<unsigned>(i), static_cast<unsigned>(i), c < 6 ? "true" : "false");
      std::string_view r(rec, static_cast<size_t>(n));
      if (i) d.doc += ',';
      d.doc += r;
      d.lines += r;
      d.lines += '\n';
    }
    d.doc += "]}";
    return d;
  }();
  return data;
}

// Text with kReadPadding readable bytes after it, as the pipeline's reader provides.
struct PaddedText {
  explicit PaddedText(const std::string& s) : buf(s) { buf.append(kReadPadding + 64, ' '); size = s.size(); }
  std::string buf;
  size_t size;
  std::string_view view() const { return {buf.data(), size}; }
};

void BM_Simdjson_CountCloudTrailRecords(benchmark::State& state) {
  const std::string& doc = GetData().doc;
  simdjson::padded_string p(doc);
  simdjson::ondemand::parser parser;
  size_t n = 0;
  for (auto _ : state) {
    n = 0;
    auto d = parser.iterate(p);
    for (auto r : d["Records"].get_array()) {
      (void)r;
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * doc.size()));
}
BENCHMARK(BM_Simdjson_CountCloudTrailRecords)->Unit(benchmark::kMillisecond);

void BM_CloudTrail_DecodeDocument(benchmark::State& state) {
  PaddedText p(GetData().doc);
  auto dec = MakeDocumentDecoder();
  std::vector<Event> events;
  std::vector<Reject> rejects;
  events.reserve(kRecords);
  for (auto _ : state) {
    events.clear();
    rejects.clear();
    dec->Decode(p.view(), ChunkStart{}, true, events, rejects);
    benchmark::DoNotOptimize(events.data());
  }
  if (events.size() != kRecords || !rejects.empty()) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size));
}
BENCHMARK(BM_CloudTrail_DecodeDocument)->Unit(benchmark::kMillisecond);

void BM_Simdjson_CountCloudTrailLines(benchmark::State& state) {
  const std::string& lines = GetData().lines;
  simdjson::padded_string p(lines);
  simdjson::ondemand::parser parser;
  size_t n = 0;
  for (auto _ : state) {
    n = 0;
    simdjson::ondemand::document_stream stream;
    if (parser.iterate_many(p).get(stream)) break;
    for (auto doc : stream) {
      (void)doc;
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK(BM_Simdjson_CountCloudTrailLines)->Unit(benchmark::kMillisecond);

// Decodes `p` in kChunkBytes chunks like the reader; calls sink(events) after each chunk.
template <typename Sink>
size_t DecodeChunked(Decoder& dec, const PaddedText& p, Sink&& sink) {
  std::vector<Event> events;
  std::vector<Reject> rejects;
  events.reserve(4096);
  size_t pos = 0, total = 0;
  std::string_view all = p.view();
  ChunkStart cs;
  while (pos < all.size()) {
    size_t len = std::min(kChunkBytes, all.size() - pos);
    bool at_end = pos + len == all.size();
    events.clear();
    size_t used = dec.Decode(all.substr(pos, len), ChunkStart{0, 0, pos}, at_end, events, rejects);
    sink(events);
    total += events.size();
    if (used == 0) {
      if (at_end) break;
      // A chunk without a whole line: take the rest at once (records are < 1 MiB here).
      used = dec.Decode(all.substr(pos), ChunkStart{0, 0, pos}, true, events, rejects);
      sink(events);
      total += events.size();
    }
    pos += used;
  }
  (void)cs;
  return total;
}

void BM_CloudTrailJsonl_Decode(benchmark::State& state) {
  PaddedText p(GetData().lines);
  size_t n = 0;
  for (auto _ : state) {
    auto dec = MakeLinesDecoder();
    n = DecodeChunked(*dec, p, [](const std::vector<Event>& ev) { benchmark::DoNotOptimize(ev.data()); });
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size));
}
BENCHMARK(BM_CloudTrailJsonl_Decode)->Unit(benchmark::kMillisecond);

void BM_CloudTrail_DecodeEnrichDetect(benchmark::State& state) {
  PaddedText p(GetData().lines);
  size_t n = 0;
  for (auto _ : state) {
    auto dec = MakeLinesDecoder();
    enrich::CloudIdentityStep step{enrich::CloudIdentityOptions{}};
    std::vector<std::unique_ptr<detect::Model>> models;
    std::vector<std::unique_ptr<detect::harness::TestContext>> ctxs;
    for (auto& m : detect::ModelCatalogue::Global().MakeAll()) {
      if (m->info().name.rfind("cloud/", 0) != 0) continue;
      ctxs.push_back(std::make_unique<detect::harness::TestContext>(m->info()));
      models.push_back(std::move(m));
    }
    n = DecodeChunked(*dec, p, [&](std::vector<Event>& ev) {
      for (Event& e : ev) {
        step.Enrich(e);
        for (size_t i = 0; i < models.size(); ++i) {
          ctxs[i]->set_now(e.time);
          models[i]->Observe(e, *ctxs[i]);
        }
      }
    });
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size));
}
BENCHMARK(BM_CloudTrail_DecodeEnrichDetect)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil::ingest::cloudtrail

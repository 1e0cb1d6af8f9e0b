// AWS CloudTrail decoders.
//
// Two registered formats share one record parser:
//   "cloudtrail"       a CloudTrail log file as delivered to S3: {"Records":[{...},...]}. The
//                      reader hands the whole (decompressed) file (needs_whole_document()).
//   "cloudtrail-jsonl" one JSON object a line: a bare CloudTrail record (CloudWatch Logs
//                      exports, Logstash/OTRF recordings where "@timestamp" stands in for a
//                      missing "eventTime"), an EventBridge envelope whose "detail" holds the
//                      record ("AWS API Call via CloudTrail", "AWS Console Sign In via
//                      CloudTrail"), or a whole {"Records":[...]} document on one line.
//
// Parsing is simdjson On-Demand over padded views of the input (ingest::kReadPadding): the
// records of a document are walked in one pass, each record's fields in one pass, and every
// string in the CloudApiBody is a view into the input bytes, so there is no allocation per
// record. String values are kept as written: a value with JSON escapes ("a\"b") keeps its
// backslashes (CloudTrail's identity, source and name fields carry none in practice).
// requestParameters, responseElements and additionalEventData are raw JSON text views.
//
// Bad records never stop a file: a record that is not an object, has no event time (neither
// "eventTime" nor "@timestamp"), has a time that does not parse, is deeper than
// kMaxJsonDepth, larger than kMaxRecordBytes, or is not valid JSON becomes a Reject with its
// code, byte offset, line (JSON lines) or record index (documents, in the reason), and the
// next record is decoded. Reject codes: "bad-json", "not-an-object", "missing-time",
// "bad-time", "too-deep", "too-long", "no-records".
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "ingest/decoder.h"

namespace vigil::ingest::cloudtrail {

// Nesting depth of the JSON text `raw` (a scalar is 0, {} is 1), stopping early once it
// exceeds `limit` (then returns limit + 1). Strings are skipped correctly, escapes included.
// Pure; never reads past raw.size().
size_t JsonDepth(std::string_view raw, size_t limit);

// The value of the first string member named `key` anywhere in the JSON text `raw` (for
// example "instanceType" in requestParameters), as written, or "" when absent or not a
// string. A light scan, not a parser: good for the short, machine-written objects CloudTrail
// holds; a key spelled with escapes is not found.
std::string_view FindStringMember(std::string_view raw, std::string_view key);

// Sniffers (FormatInfo::sniff): confidence 0-100 from the first bytes of an input.
int SniffDocument(std::string_view head, std::string_view path);
int SniffLines(std::string_view head, std::string_view path);

std::unique_ptr<Decoder> MakeDocumentDecoder();
std::unique_ptr<Decoder> MakeLinesDecoder();

}  // namespace vigil::ingest::cloudtrail

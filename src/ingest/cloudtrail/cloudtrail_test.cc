#include "ingest/cloudtrail/cloudtrail.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "ingest/registry.h"

namespace vigil::ingest::cloudtrail {
namespace {

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/tests/data/cloudtrail/" + name,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Decodes `text` whole with the decoder, honouring the padding contract.
struct Decoded {
  std::vector<Event> events;
  std::vector<Reject> rejects;
  size_t consumed = 0;
};

class Padded {
 public:
  explicit Padded(std::string text) : buf_(std::move(text)), size_(buf_.size()) {
    buf_.append(kReadPadding, ' ');
  }
  std::string_view view() const { return {buf_.data(), size_}; }

 private:
  std::string buf_;
  size_t size_;
};

Decoded DecodeAll(Decoder& d, const Padded& p, bool at_end = true) {
  Decoded r;
  r.consumed = d.Decode(p.view(), ChunkStart{7, 1, 1000}, at_end, r.events, r.rejects);
  return r;
}

const CloudApiBody& Body(const Event& e) { return *e.As<CloudApiBody>(); }

TEST(CloudTrailLines, DecodesEveryOtrfRecordWithAtTimestampAsTime) {
  auto d = MakeLinesDecoder();
  Padded p(ReadData("otrf_cloud_breach_s3.jsonl"));
  Decoded r = DecodeAll(*d, p);
  EXPECT_TRUE(r.rejects.empty()) << r.rejects[0].code << " " << r.rejects[0].reason;
  ASSERT_EQ(r.events.size(), 103u);
  EXPECT_EQ(r.consumed, p.view().size());
  const Event& e = r.events[0];
  EXPECT_EQ(e.kind, EventKind::kCloudApi);
  EXPECT_EQ(FormatRfc3339(e.time), "2020-09-14T00:44:23Z");
  EXPECT_EQ(e.uid, "fd4f1042-c7f6-4107-a6ee-d841d92596e7");
  EXPECT_EQ(e.pos.input, 7u);
  EXPECT_EQ(e.pos.line, 1u);
  EXPECT_EQ(e.pos.offset, 1000u);
  const CloudApiBody& b = Body(e);
  EXPECT_EQ(b.provider, "aws");
  EXPECT_EQ(b.event_name, "DescribeInstanceTypes");
  EXPECT_EQ(b.event_source, "ec2.amazonaws.com");
  EXPECT_EQ(b.event_type, "AwsApiCall");
  EXPECT_EQ(b.region, "us-east-1");
  EXPECT_EQ(b.source_ip, "1.2.3.4");
  EXPECT_EQ(b.user_agent, "console.ec2.amazonaws.com");
  EXPECT_EQ(b.account_id, "123456789123");
  EXPECT_EQ(b.identity_type, "IAMUser");
  EXPECT_EQ(b.principal_arn, "arn:aws:iam::123456789123:user/pedro");
  EXPECT_EQ(b.principal_id, "AIDAICAK2CN5MGHIIDIHA");
  EXPECT_EQ(b.user_name, "pedro");
  EXPECT_EQ(b.access_key_id, "ASIA5FLZVX4OI4ZDQJOL");
  EXPECT_TRUE(b.mfa_authenticated);
  EXPECT_EQ(b.response_elements, "");
  EXPECT_EQ(b.request_parameters.substr(0, 30), "{\"DescribeInstanceTypesRequest");
  EXPECT_EQ(e.raw, p.view().substr(0, p.view().find('\n')));
  // The second line starts where the first ended.
  EXPECT_EQ(r.events[1].pos.line, 2u);
  EXPECT_EQ(r.events[1].pos.offset, 1000u + p.view().find('\n') + 1);

  // The stolen instance-role session: assumed role with its issuer.
  bool found = false;
  for (const Event& ev : r.events) {
    const CloudApiBody& x = Body(ev);
    if (x.event_name != "ListBuckets") continue;
    found = true;
    EXPECT_EQ(x.identity_type, "AssumedRole");
    EXPECT_EQ(x.principal_arn,
              "arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/"
              "i-0317f6c6b66ae9c40");
    EXPECT_EQ(x.session_issuer_arn,
              "arn:aws:iam::123456789123:role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0");
    EXPECT_EQ(x.access_key_id, "ASIA5FLZVX4OPVKKVBMX");
    EXPECT_EQ(x.user_agent.substr(0, 16), "[aws-cli/1.18.13");
    break;
  }
  EXPECT_TRUE(found);
}

TEST(CloudTrailLines, FillsConsoleLoginRootServiceAndErrorFields) {
  auto d = MakeLinesDecoder();
  Padded p(ReadData("panther_records.jsonl"));
  Decoded r = DecodeAll(*d, p);
  ASSERT_TRUE(r.rejects.empty()) << r.rejects[0].code << " " << r.rejects[0].reason;
  ASSERT_EQ(r.events.size(), 13u);
  const CloudApiBody& login = Body(r.events[0]);
  EXPECT_EQ(login.event_name, "ConsoleLogin");
  EXPECT_EQ(login.event_type, "AwsConsoleSignIn");
  EXPECT_EQ(login.console_login_result, "Success");
  EXPECT_EQ(login.source_ip, "111.111.111.111");
  EXPECT_EQ(Body(r.events[2]).console_login_result, "Failure");
  EXPECT_EQ(Body(r.events[1]).identity_type, "Root");
  EXPECT_EQ(Body(r.events[1]).principal_arn, "arn:aws:iam::123456789012:root");

  const CloudApiBody& svc = Body(r.events[4]);
  EXPECT_EQ(svc.identity_type, "AWSService");
  EXPECT_EQ(svc.invoked_by, "lambda.amazonaws.com");
  EXPECT_EQ(FormatRfc3339(r.events[4].time), "2024-06-02T20:27:12Z");

  const CloudApiBody& attach = Body(r.events[6]);
  EXPECT_EQ(attach.event_name, "AttachUserPolicy");
  EXPECT_EQ(FindStringMember(attach.request_parameters, "policyArn"),
            "arn:aws:iam::aws:policy/AdministratorAccess");

  const CloudApiBody& run = Body(r.events[7]);
  EXPECT_EQ(run.event_name, "RunInstances");
  EXPECT_FALSE(FindStringMember(run.request_parameters, "instanceType").empty());

  const CloudApiBody& key = Body(r.events[9]);
  EXPECT_EQ(key.invoked_by, "signin.amazonaws.com");
  EXPECT_EQ(key.identity_type, "Root");
}

TEST(CloudTrailLines, UnwrapsEventBridgeEnvelopes) {
  auto d = MakeLinesDecoder();
  Padded p(ReadData("eventbridge.jsonl"));
  Decoded r = DecodeAll(*d, p);
  ASSERT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(Body(r.events[0]).event_name, "ConsoleLogin");
  EXPECT_EQ(Body(r.events[0]).console_login_result, "Success");
  EXPECT_EQ(Body(r.events[0]).principal_arn, "arn:aws:iam::123456789012:user/tester");
  EXPECT_EQ(Body(r.events[1]).event_name, "PutBucketPolicy");
  EXPECT_EQ(Body(r.events[1]).event_source, "s3.amazonaws.com");
  EXPECT_EQ(r.events[1].pos.line, 2u);
}

TEST(CloudTrailDocument, DecodesAnS3DeliveryDocumentInOrder) {
  auto d = MakeDocumentDecoder();
  EXPECT_TRUE(d->needs_whole_document());
  std::string text = ReadData("s3_delivery.json");
  Padded p(text);
  Decoded r = DecodeAll(*d, p);
  ASSERT_TRUE(r.rejects.empty()) << r.rejects[0].code << " " << r.rejects[0].reason;
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(Body(r.events[0]).event_name, "ConsoleLogin");
  EXPECT_EQ(Body(r.events[1]).event_name, "ChangePassword");
  EXPECT_EQ(Body(r.events[2]).event_name, "PutBucketPolicy");
  // Each event's raw text is exactly its record, and its offset points at it.
  for (const Event& e : r.events) {
    ASSERT_FALSE(e.raw.empty());
    EXPECT_EQ(e.raw.front(), '{');
    EXPECT_EQ(e.raw.back(), '}');
    EXPECT_EQ(e.pos.offset - 1000, static_cast<uint64_t>(e.raw.data() - p.view().data()));
  }
  EXPECT_EQ(r.events[0].raw.data(), p.view().data() + std::string_view("{\"Records\":[").size());
}

TEST(CloudTrailDocument, WaitsForTheWholeDocument) {
  auto d = MakeDocumentDecoder();
  Padded p(ReadData("s3_delivery.json"));
  Decoded r = DecodeAll(*d, p, /*at_end=*/false);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_TRUE(r.events.empty());
}

constexpr const char* kGood =
    R"({"eventTime":"2024-01-01T00:00:01Z","eventID":"e1","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}})";

TEST(CloudTrailDocument, BadRecordsAreRejectedWithIndexAndOffsetAndTheRestGoOn) {
  std::string doc = std::string("{\"Records\":[") + kGood + ",42," +
                    R"({"eventID":"no-time","eventName":"X","eventSource":"s"},)" +
                    R"({"eventTime":"yesterday","eventName":"X","eventSource":"s"},)" + kGood +
                    "]}";
  auto d = MakeDocumentDecoder();
  Padded p(doc);
  Decoded r = DecodeAll(*d, p);
  ASSERT_EQ(r.events.size(), 2u);
  ASSERT_EQ(r.rejects.size(), 3u);
  EXPECT_EQ(r.rejects[0].code, "not-an-object");
  EXPECT_EQ(r.rejects[0].offset, 1000 + doc.find(",42,") + 1);
  EXPECT_NE(r.rejects[0].reason.find("record 1"), std::string::npos);
  EXPECT_EQ(r.rejects[1].code, "missing-time");
  EXPECT_EQ(r.rejects[1].offset, 1000 + doc.find("{\"eventID\":\"no-time\""));
  EXPECT_NE(r.rejects[1].reason.find("record 2"), std::string::npos);
  EXPECT_EQ(r.rejects[2].code, "bad-time");
  EXPECT_NE(r.rejects[2].reason.find("record 3"), std::string::npos);
  EXPECT_EQ(r.rejects[0].input, 7u);
}

TEST(CloudTrailDocument, BrokenJsonInsideOneRecordResyncsToTheNext) {
  std::string doc = std::string("{\"Records\":[") + kGood +
                    R"(,{"eventTime":"2024-01-01T00:00:02Z","readOnly":tru,"eventName":"X"},)" +
                    kGood + "," + kGood + "]}";
  auto d = MakeDocumentDecoder();
  Padded p(doc);
  Decoded r = DecodeAll(*d, p);
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].code, "bad-json");
  EXPECT_EQ(r.rejects[0].offset, 1000 + doc.find("{\"eventTime\":\"2024-01-01T00:00:02Z\""));
  EXPECT_NE(r.rejects[0].reason.find("record 1"), std::string::npos);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[2].pos.offset, 1000 + doc.rfind(kGood));
}

TEST(CloudTrailDocument, WholeDocumentErrorsHaveTheirOwnCodes) {
  auto d = MakeDocumentDecoder();
  {
    Padded p("{\"Records\": [ {\"eventTime\": \"2024");
    Decoded r = DecodeAll(*d, p);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].code, "bad-json");
    EXPECT_EQ(r.rejects[0].offset, 1000u);
  }
  {
    Padded p("{\"Other\": []}");
    Decoded r = DecodeAll(*d, p);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].code, "no-records");
  }
  {
    Padded p("[1,2]");
    Decoded r = DecodeAll(*d, p);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].code, "not-an-object");
  }
}

TEST(CloudTrailLines, RecordsDeeperThanTheCapAreRejected) {
  std::string deep;
  for (size_t i = 0; i < kMaxJsonDepth + 5; ++i) deep += "{\"a\":";
  deep += "1";
  for (size_t i = 0; i < kMaxJsonDepth + 5; ++i) deep += "}";
  std::string ok_nest;
  for (size_t i = 0; i < kMaxJsonDepth - 3; ++i) ok_nest += "[";
  for (size_t i = 0; i < kMaxJsonDepth - 3; ++i) ok_nest += "]";
  std::string text = std::string(kGood) + "\n" +
                     R"({"eventTime":"2024-01-01T00:00:02Z","eventName":"X","eventSource":"s","requestParameters":)" +
                     deep + "}\n" +
                     R"({"eventTime":"2024-01-01T00:00:03Z","eventName":"Y","eventSource":"s","requestParameters":)" +
                     ok_nest + "}\n";
  auto d = MakeLinesDecoder();
  Padded p(text);
  Decoded r = DecodeAll(*d, p);
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].code, "too-deep");
  EXPECT_EQ(r.rejects[0].line, 2u);
  EXPECT_EQ(r.rejects[0].offset, 1000 + text.find('\n') + 1);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(Body(r.events[1]).event_name, "Y");
}

TEST(CloudTrailLines, BadLinesAreRejectedWithLineAndOffset) {
  std::string text = std::string(kGood) + "\n" + "{\"eventTime\": oops}\n" + "[1]\n" +
                     R"({"eventName":"X","eventSource":"s"})" + "\n" + kGood + "\n";
  auto d = MakeLinesDecoder();
  Padded p(text);
  Decoded r = DecodeAll(*d, p);
  ASSERT_EQ(r.rejects.size(), 3u);
  EXPECT_EQ(r.rejects[0].code, "bad-json");
  EXPECT_EQ(r.rejects[0].line, 2u);
  EXPECT_EQ(r.rejects[0].offset, 1000 + text.find("{\"eventTime\": oops"));
  EXPECT_EQ(r.rejects[1].code, "not-an-object");
  EXPECT_EQ(r.rejects[1].line, 3u);
  EXPECT_EQ(r.rejects[2].code, "missing-time");
  EXPECT_EQ(r.rejects[2].line, 4u);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1].pos.line, 5u);
}

TEST(CloudTrailLines, AnIncompleteLastLineWaitsForMoreBytes) {
  std::string text = std::string(kGood) + "\n" + std::string(kGood).substr(0, 40);
  auto d = MakeLinesDecoder();
  Padded p(text);
  Decoded r = DecodeAll(*d, p, /*at_end=*/false);
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.consumed, std::string(kGood).size() + 1);
}

TEST(CloudTrailLines, LinesLongerThanTheRecordCapAreRejected) {
  std::string big = R"({"eventTime":"2024-01-01T00:00:02Z","eventName":"X","eventSource":"s","x":")" +
                    std::string(kMaxRecordBytes + 10, 'a') + "\"}";
  std::string text = big + "\n" + kGood + "\n";
  auto d = MakeLinesDecoder();
  Padded p(text);
  Decoded r = DecodeAll(*d, p);
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].code, "too-long");
  EXPECT_EQ(r.rejects[0].line, 1u);
  EXPECT_EQ(r.events.size(), 1u);
}

TEST(CloudTrailSniff, RecognisesEachShapeAndNotTheOthers) {
  const auto& reg = FormatRegistry::Global();
  std::string doc = ReadData("s3_delivery.json");
  std::string lines = ReadData("otrf_cloud_breach_s3.jsonl");
  std::string eb = ReadData("eventbridge.jsonl");
  std::string panther = ReadData("panther_records.jsonl");
  ASSERT_NE(reg.Sniff(doc, "x.json"), nullptr);
  EXPECT_EQ(reg.Sniff(doc, "AWSLogs/1/CloudTrail/us-east-1/2024/01/01/x.json")->name,
            "cloudtrail");
  EXPECT_EQ(reg.Sniff(lines, "")->name, "cloudtrail-jsonl");
  EXPECT_EQ(reg.Sniff(eb, "")->name, "cloudtrail-jsonl");
  EXPECT_EQ(reg.Sniff(panther, "")->name, "cloudtrail-jsonl");
  EXPECT_EQ(SniffDocument("{\"ts\":1.0,\"uid\":\"C1\"}", ""), 0);
  EXPECT_EQ(SniffLines("{\"ts\":1.0,\"uid\":\"C1\"}", ""), 0);
  EXPECT_EQ(SniffLines("#separator \\x09", ""), 0);
  // Two documents, one a line: the line decoder, which expands "Records" on each line.
  std::string two = doc + "\n" + doc + "\n";
  EXPECT_EQ(reg.Sniff(two, "")->name, "cloudtrail-jsonl");
}

TEST(CloudTrailLines, ExpandsARecordsDocumentOnOneLine) {
  std::string doc = ReadData("s3_delivery.json");
  auto d = MakeLinesDecoder();
  Padded p(doc + "\n" + doc + "\n");
  Decoded r = DecodeAll(*d, p);
  ASSERT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 6u);
  EXPECT_EQ(r.events[3].pos.line, 2u);
  EXPECT_EQ(Body(r.events[5]).event_name, "PutBucketPolicy");
}

TEST(CloudTrailJson, DepthAndMemberHelpersHandleStringsAndEscapes) {
  EXPECT_EQ(JsonDepth("1", 64), 0u);
  EXPECT_EQ(JsonDepth("{\"a\":[{}]}", 64), 3u);
  EXPECT_EQ(JsonDepth("{\"a\":\"[[[[\\\"[[\"}", 64), 1u);
  EXPECT_EQ(JsonDepth("[[[[[", 3), 4u);
  EXPECT_EQ(FindStringMember(R"({"x":{"instanceType" : "p3.16xlarge"}})", "instanceType"),
            "p3.16xlarge");
  EXPECT_EQ(FindStringMember(R"({"instanceTypeX":"a","instanceType":"b"})", "instanceType"), "b");
  EXPECT_EQ(FindStringMember(R"({"a":"say \"hi\""})", "a"), R"(say \"hi\")");
  EXPECT_EQ(FindStringMember(R"({"a":1})", "a"), "");
}

}  // namespace
}  // namespace vigil::ingest::cloudtrail

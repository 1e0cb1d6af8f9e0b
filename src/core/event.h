// Event: the one record every stage after decoding works on.
//
// An Event is a compact header (event time, kind, where it came from, the network
// 5-tuple when there is one, the primary entity and the peer) and a typed body. All
// strings are std::string_view into the decoder's input chunk: an Event is valid only
// while the chunk it was decoded from is alive (the pipeline keeps the chunk until the
// event has been through every stage). Anything that must outlive the event (model
// state, breach text) copies what it keeps.
//
// Decoders fill time, kind, pos, raw, uid, net and body. The enrich stage fills
// orig_internal/resp_internal, entity and peer. Models read everything.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "core/ip.h"
#include "core/time.h"

namespace vigil {

enum class EventKind : uint8_t {
  kFlow = 0,        // a connection summary (Zeek conn, Suricata flow, pcap flow)
  kHttp,            // one HTTP request/response
  kDns,             // one DNS query/answer
  kTls,             // one TLS handshake (SNI, certificate)
  kFile,            // a file seen on the wire (Zeek files.log, Suricata fileinfo)
  kIdsAlert,        // a signature alert from an IDS (Suricata alert)
  kCloudApi,        // one cloud control-plane call (CloudTrail record)
  kEdrAlert,        // an EDR alert (Defender alerts_v2)
  kProcess,         // a process start on a host (DeviceProcessEvents)
  kFileActivity,    // a file created/modified on a host (DeviceFileEvents)
  kDeviceInfo,      // device facts: OS, version, public IP (DeviceInfo)
  kDeviceNetwork,   // device addresses (DeviceNetworkInfo)
  kVulnerability,   // an open CVE on a device (DeviceTvmSoftwareVulnerabilities)
  kCount
};
inline constexpr int kEventKindCount = static_cast<int>(EventKind::kCount);
const char* EventKindName(EventKind k);

// A set of event kinds, for a model to say what it watches.
class KindSet {
 public:
  constexpr KindSet() = default;
  constexpr KindSet(std::initializer_list<EventKind> kinds) {
    for (auto k : kinds) bits_ |= 1u << static_cast<unsigned>(k);
  }
  constexpr bool contains(EventKind k) const { return bits_ & (1u << static_cast<unsigned>(k)); }

 private:
  uint32_t bits_ = 0;
};

enum class EntityType : uint8_t {
  kNone = 0,
  kDevice,    // an internal host, keyed by IP address (or Defender device id until linked)
  kExternal,  // an external endpoint, keyed by IP address or host name
  kIdentity,  // a cloud or directory identity, keyed by ARN / UPN
};
const char* EntityTypeName(EntityType t);  // "device", "external", "identity", ""

struct EntityRef {
  EntityType type = EntityType::kNone;
  std::string_view id;    // stable key: "10.0.0.5", "arn:aws:iam::123:user/alice"
  std::string_view name;  // display name if the record carried one (host name, user name)
  bool empty() const { return type == EntityType::kNone; }
};

enum class Proto : uint8_t { kUnknown = 0, kTcp, kUdp, kIcmp };
const char* ProtoName(Proto p);

// Where a record came from, for error reports, evidence and checkpoints.
struct SourcePos {
  uint32_t input = 0;   // index into the pipeline's input table
  uint64_t line = 0;    // 1-based line number, 0 when the format is not line-oriented
  uint64_t offset = 0;  // byte offset of the record's first byte in the (decompressed) input
};

// The network 5-tuple, for events that have one (flow, http, dns, tls, file, ids alert).
struct NetTuple {
  IpAddr orig_h;
  IpAddr resp_h;
  std::string_view orig_h_text;  // the address as written in the record
  std::string_view resp_h_text;
  uint16_t orig_p = 0;
  uint16_t resp_p = 0;
  Proto proto = Proto::kUnknown;
  bool valid = false;  // false for events without a tuple
};

struct FlowBody {
  std::string_view service;     // "http", "ssl", "dns" ... or empty
  std::string_view conn_state;  // Zeek conn_state ("SF", "S0", "REJ" ...)
  std::string_view history;
  Micros duration = 0;
  uint64_t orig_bytes = 0;
  uint64_t resp_bytes = 0;
  uint64_t orig_pkts = 0;
  uint64_t resp_pkts = 0;
  bool has_duration = false;
};

struct HttpBody {
  std::string_view method;
  std::string_view host;
  std::string_view uri;
  std::string_view user_agent;
  std::string_view referrer;
  uint16_t status_code = 0;
  uint64_t request_body_len = 0;
  uint64_t response_body_len = 0;
  std::string_view resp_mime_types;  // comma-separated when several
  std::string_view resp_fuids;       // comma-separated Zeek file ids
  std::string_view resp_filenames;
};

struct DnsBody {
  std::string_view query;
  std::string_view qtype_name;  // "A", "AAAA", "TXT" ...
  std::string_view rcode_name;  // "NOERROR", "NXDOMAIN" ...
  std::string_view answers;     // comma-separated
  bool rejected = false;
};

struct TlsBody {
  std::string_view server_name;  // SNI
  std::string_view version;
  std::string_view subject;
  std::string_view issuer;
  std::string_view ja3;
  bool established = false;
};

struct FileBody {
  std::string_view fuid;
  std::string_view source;     // "HTTP", "FTP" ...
  std::string_view mime_type;  // from content (Zeek's libmagic)
  std::string_view filename;
  std::string_view md5;
  std::string_view sha1;
  std::string_view sha256;
  uint64_t seen_bytes = 0;
  uint64_t total_bytes = 0;
  bool is_orig = false;  // true when the originator sent the file (an upload)
};

struct IdsAlertBody {
  std::string_view signature;
  std::string_view category;
  std::string_view action;  // "allowed", "blocked"
  std::string_view app_proto;
  uint64_t signature_id = 0;
  uint32_t rev = 0;
  int severity = 0;  // 1 = high ... 4 = low (Suricata)
  // The rule's ATT&CK technique ids from its metadata (alert.metadata.mitre_technique_id,
  // which Suricata logs when the rule carries it), comma-separated; empty when absent.
  std::string_view mitre_techniques;
};

// Where a cloud API call came from (set by enrich/cloud_identity).
enum class CloudSourceClass : uint8_t {
  kUnknown = 0,
  kAwsInternal,  // an AWS service name ("ec2.amazonaws.com"), "AWS Internal", cloud.aws_networks
  kCorporate,    // cloud.corporate_networks (or networks.internal)
  kExternal,     // any other address
};
const char* CloudSourceClassName(CloudSourceClass c);  // "aws-internal", "corporate" ...

// The family of client that made a cloud API call, from its user agent.
enum class CloudUaFamily : uint8_t {
  kUnknown = 0,
  kConsole,    // the AWS management console ("console.amazonaws.com", "AWS Internal" ...)
  kAwsCli,     // "aws-cli/2.13.0 ..."
  kBoto,       // "Boto3/1.26 ...", "botocore/..."
  kSdk,        // "aws-sdk-go/...", "aws-sdk-java/...", "aws-sdk-js" ...
  kTerraform,  // "APN/1.0 HashiCorp/1.0 Terraform/1.5.0 ..."
  kAwsService, // an AWS service acting ("ec2.amazonaws.com", "AWS Internal")
};
const char* CloudUaFamilyName(CloudUaFamily f);  // "console", "aws-cli", "boto" ...
inline bool IsProgrammatic(CloudUaFamily f) {
  return f == CloudUaFamily::kAwsCli || f == CloudUaFamily::kBoto || f == CloudUaFamily::kSdk ||
         f == CloudUaFamily::kTerraform;
}

struct CloudApiBody {
  std::string_view provider;      // "aws"
  std::string_view event_id;
  std::string_view event_source;  // "iam.amazonaws.com"
  std::string_view event_name;    // "AttachUserPolicy"
  std::string_view event_type;    // "AwsApiCall", "AwsConsoleSignIn" ...
  std::string_view region;
  std::string_view source_ip;     // may be a service name ("s3.amazonaws.com")
  std::string_view user_agent;
  std::string_view account_id;    // recipientAccountId, or userIdentity.accountId
  std::string_view identity_type; // "IAMUser", "AssumedRole", "Root", "AWSService" ...
  std::string_view principal_arn; // userIdentity.arn
  std::string_view principal_id;
  std::string_view user_name;
  std::string_view access_key_id;
  std::string_view session_issuer_arn;
  std::string_view source_identity;
  std::string_view invoked_by;
  std::string_view error_code;
  std::string_view error_message;
  std::string_view request_parameters;  // raw JSON text of requestParameters
  std::string_view response_elements;   // raw JSON text of responseElements
  std::string_view additional_event_data;
  std::string_view console_login_result;  // "Success"/"Failure" for ConsoleLogin
  bool read_only = false;
  bool mfa_authenticated = false;
  bool has_read_only = false;  // readOnly was present in the record
  // Set by the cloud identity enrich step (enrich/cloud_identity.h); decoders leave them.
  std::string_view session_name;     // assumed-role session name, "" otherwise
  std::string_view country;          // ISO country code from GeoIP, "" when unknown
  uint64_t source_key = 0;           // hash of the source: ASN when known, else IP prefix
  uint64_t source_region_key = 0;    // hash of the wider source: country, else /16 (/32 v6)
  uint32_t asn = 0;                  // autonomous system number from GeoIP, 0 when unknown
  CloudSourceClass source_class = CloudSourceClass::kUnknown;
  CloudUaFamily ua_family = CloudUaFamily::kUnknown;
  bool not_a_person = false;  // AWS service, invokedBy, service-linked role
  // HashValue(entity.id) once the enrich step has named the identity, for the cloud
  // models' tables (0: not computed; they hash the id themselves).
  uint64_t identity_key = 0;
};

struct EdrAlertBody {
  std::string_view provider;  // "defender"
  std::string_view alert_id;
  std::string_view provider_alert_id;
  std::string_view incident_id;
  std::string_view title;
  std::string_view description;
  std::string_view severity;        // "informational", "low", "medium", "high"
  std::string_view category;
  std::string_view status;          // "new", "inProgress", "resolved"
  std::string_view classification;
  std::string_view determination;
  std::string_view detection_source;
  std::string_view detector_id;
  std::string_view service_source;
  std::string_view mitre_techniques;  // comma-separated technique ids
  std::string_view threat_actor;
  std::string_view device_id;       // Defender's mdeDeviceId
  std::string_view device_name;
  std::string_view device_ips;      // comma-separated addresses from device evidence
  std::string_view evidence;        // raw JSON text of the evidence array
  std::string_view web_url;
  Micros created = 0;
  Micros last_updated = 0;
  Micros first_activity = 0;
  Micros last_activity = 0;
  // True when this record is a later state of an alert already delivered (same id, newer
  // lastUpdateDateTime: a status or classification change), not a new detection.
  bool is_update = false;
};

struct ProcessBody {
  std::string_view device_id;
  std::string_view device_name;
  std::string_view action_type;
  std::string_view file_name;
  std::string_view folder_path;
  std::string_view command_line;
  std::string_view sha256;
  std::string_view account_name;
  std::string_view parent_file_name;
  std::string_view parent_folder_path;
  std::string_view parent_command_line;
  uint64_t process_id = 0;
  uint64_t parent_process_id = 0;
};

struct FileActivityBody {
  std::string_view device_id;
  std::string_view device_name;
  std::string_view action_type;  // "FileCreated", "FileModified" ...
  std::string_view file_name;
  std::string_view folder_path;
  std::string_view sha256;
  std::string_view initiating_process_file_name;
  std::string_view initiating_process_folder_path;
  std::string_view initiating_process_command_line;
};

struct DeviceInfoBody {
  std::string_view device_id;
  std::string_view device_name;
  std::string_view os_platform;
  std::string_view os_version;
  std::string_view os_build;
  std::string_view public_ip;
  std::string_view device_type;
  std::string_view machine_group;
};

struct DeviceNetworkBody {
  std::string_view device_id;
  std::string_view device_name;
  std::string_view ip_addresses;  // raw JSON text or comma-separated list
  std::string_view mac_address;
};

struct VulnerabilityBody {
  std::string_view device_id;
  std::string_view device_name;
  std::string_view cve_id;
  std::string_view severity;
  std::string_view software_vendor;
  std::string_view software_name;
  std::string_view software_version;
  std::string_view os_platform;
};

using EventBody =
    std::variant<std::monostate, FlowBody, HttpBody, DnsBody, TlsBody, FileBody, IdsAlertBody,
                 CloudApiBody, EdrAlertBody, ProcessBody, FileActivityBody, DeviceInfoBody,
                 DeviceNetworkBody, VulnerabilityBody>;

struct Event {
  // Every member has its initializer; a user-provided constructor keeps `Event()` and
  // `emplace_back()` from zero-filling the whole object first (the body variant's storage
  // alone is over 500 bytes, and decoders make an event per record).
  Event() {}

  // First, so that the variant's index (after its storage) shares a cache line with the
  // fields below, which every reader of an event reads anyway: at the end of the event it
  // cost each model thread one more line per event (`As<FlowBody>()` reads it).
  EventBody body;
  Micros time = 0;
  EventKind kind = EventKind::kFlow;
  SourcePos pos;
  std::string_view raw;  // the whole record as read (one line, or one JSON object)
  std::string_view uid;  // Zeek uid / Suricata flow id / CloudTrail eventID / alert id
  NetTuple net;
  // Set by enrich.
  bool orig_internal = false;
  bool resp_internal = false;
  EntityRef entity;
  EntityRef peer;

  template <typename T>
  const T* As() const { return std::get_if<T>(&body); }
  template <typename T>
  T& Set() { return body.template emplace<T>(); }
};

}  // namespace vigil

#include "core/event.h"

namespace vigil {

const char* EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kFlow: return "flow";
    case EventKind::kHttp: return "http";
    case EventKind::kDns: return "dns";
    case EventKind::kTls: return "tls";
    case EventKind::kFile: return "file";
    case EventKind::kIdsAlert: return "ids-alert";
    case EventKind::kCloudApi: return "cloud-api";
    case EventKind::kEdrAlert: return "edr-alert";
    case EventKind::kProcess: return "process";
    case EventKind::kFileActivity: return "file-activity";
    case EventKind::kDeviceInfo: return "device-info";
    case EventKind::kDeviceNetwork: return "device-network";
    case EventKind::kVulnerability: return "vulnerability";
    case EventKind::kCount: break;
  }
  return "unknown";
}

const char* EntityTypeName(EntityType t) {
  switch (t) {
    case EntityType::kDevice: return "device";
    case EntityType::kExternal: return "external";
    case EntityType::kIdentity: return "identity";
    case EntityType::kNone: break;
  }
  return "";
}

const char* CloudSourceClassName(CloudSourceClass c) {
  switch (c) {
    case CloudSourceClass::kAwsInternal: return "aws-internal";
    case CloudSourceClass::kCorporate: return "corporate";
    case CloudSourceClass::kExternal: return "external";
    case CloudSourceClass::kUnknown: break;
  }
  return "unknown";
}

const char* CloudUaFamilyName(CloudUaFamily f) {
  switch (f) {
    case CloudUaFamily::kConsole: return "console";
    case CloudUaFamily::kAwsCli: return "aws-cli";
    case CloudUaFamily::kBoto: return "boto";
    case CloudUaFamily::kSdk: return "sdk";
    case CloudUaFamily::kTerraform: return "terraform";
    case CloudUaFamily::kAwsService: return "aws-service";
    case CloudUaFamily::kUnknown: break;
  }
  return "unknown";
}

const char* ProtoName(Proto p) {
  switch (p) {
    case Proto::kTcp: return "tcp";
    case Proto::kUdp: return "udp";
    case Proto::kIcmp: return "icmp";
    case Proto::kUnknown: break;
  }
  return "";
}

}  // namespace vigil

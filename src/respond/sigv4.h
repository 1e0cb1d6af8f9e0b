// AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
// the Authorization header for a request, computed with OpenSSL HMAC-SHA256. Pure: no clock,
// no I/O, so tests check it against the documented example.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace vigil::respond {

struct SigV4Request {
  std::string method = "POST";
  std::string path = "/";                    // un-encoded path
  std::map<std::string, std::string> query;  // un-encoded names and values
  // Headers to sign, by lower-case name (must include "host" and "x-amz-date").
  std::map<std::string, std::string> headers;
  std::string payload;
};

struct SigV4Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional; the caller adds x-amz-security-token when set
};

// RFC 3986 percent-encoding as SigV4 wants it (unreserved A-Z a-z 0-9 - _ . ~ kept; '/' kept
// only when `keep_slash`).
std::string UriEncode(std::string_view s, bool keep_slash = false);
std::string HexSha256(std::string_view data);

// The canonical request and string to sign (exposed for tests and error messages).
std::string CanonicalRequest(const SigV4Request& r);
std::string StringToSign(const SigV4Request& r, std::string_view amz_date,
                         std::string_view region, std::string_view service);
// "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request,
//  SignedHeaders=content-type;host;x-amz-date, Signature=<64 hex>".
// `amz_date` is the request's x-amz-date ("20150830T123600Z").
std::string SigV4Authorization(const SigV4Request& r, const SigV4Credentials& creds,
                               std::string_view amz_date, std::string_view region,
                               std::string_view service);

}  // namespace vigil::respond

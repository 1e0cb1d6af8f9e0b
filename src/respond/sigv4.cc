#include "respond/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

namespace vigil::respond {

namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 15];
  }
  return s;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Trim(std::string_view v) {
  size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  if (b == std::string_view::npos) return {};
  // Sequential spaces inside a value collapse to one.
  std::string out;
  for (size_t i = b; i <= e; ++i) {
    if (v[i] == ' ' && !out.empty() && out.back() == ' ') continue;
    out += v[i];
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string HexSha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return Hex(out, len);
}

std::string CanonicalRequest(const SigV4Request& r) {
  std::string q;
  for (const auto& [k, v] : r.query) {  // std::map: sorted by (un-encoded) name; names are ASCII
    if (!q.empty()) q += "&";
    q += UriEncode(k) + "=" + UriEncode(v);
  }
  std::string headers, signed_headers;
  for (const auto& [k, v] : r.headers) {
    headers += k + ":" + Trim(v) + "\n";
    if (!signed_headers.empty()) signed_headers += ";";
    signed_headers += k;
  }
  return r.method + "\n" + UriEncode(r.path.empty() ? "/" : r.path, true) + "\n" + q + "\n" +
         headers + "\n" + signed_headers + "\n" + HexSha256(r.payload);
}

std::string StringToSign(const SigV4Request& r, std::string_view amz_date,
                         std::string_view region, std::string_view service) {
  std::string date(amz_date.substr(0, 8));
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + date + "/" + std::string(region) +
         "/" + std::string(service) + "/aws4_request\n" + HexSha256(CanonicalRequest(r));
}

std::string SigV4Authorization(const SigV4Request& r, const SigV4Credentials& creds,
                               std::string_view amz_date, std::string_view region,
                               std::string_view service) {
  std::string date(amz_date.substr(0, 8));
  std::string k = Hmac("AWS4" + creds.secret_key, date);
  k = Hmac(k, region);
  k = Hmac(k, service);
  k = Hmac(k, "aws4_request");
  std::string sig = Hmac(k, StringToSign(r, amz_date, region, service));
  std::string signed_headers;
  for (const auto& [name, v] : r.headers) {
    (void)v;
    if (!signed_headers.empty()) signed_headers += ";";
    signed_headers += name;
  }
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" + date + "/" +
         std::string(region) + "/" + std::string(service) + "/aws4_request, SignedHeaders=" +
         signed_headers + ", Signature=" +
         Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

}  // namespace vigil::respond

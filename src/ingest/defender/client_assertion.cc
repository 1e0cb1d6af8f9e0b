#include "ingest/defender/client_assertion.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace vigil::ingest::defender {

std::string Base64Url(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint32_t{b[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

ClientCertificate::~ClientCertificate() { EVP_PKEY_free(static_cast<EVP_PKEY*>(key_)); }

Result<std::unique_ptr<ClientCertificate>> ClientCertificate::Load(const std::string& pem_path) {
  std::FILE* f = std::fopen(pem_path.c_str(), "rb");
  if (!f) return NotFound("defender.certificate: cannot open " + pem_path);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::rewind(f);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!key || !cert) {
    EVP_PKEY_free(key);
    X509_free(cert);
    return InvalidArgument("defender.certificate: " + pem_path + " must hold a PEM private key and its " +
                           std::string(key ? "certificate" : cert ? "private key" : "certificate"));
  }
  unsigned char sha1[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  bool ok = X509_digest(cert, EVP_sha1(), sha1, &n) == 1;
  X509_free(cert);
  if (!ok) {
    EVP_PKEY_free(key);
    return Internal("defender.certificate: cannot compute the certificate thumbprint");
  }
  std::unique_ptr<ClientCertificate> c(new ClientCertificate());  // private constructor
  c->key_ = key;
  c->x5t_ = Base64Url(std::string(reinterpret_cast<char*>(sha1), n));
  return c;
}

Result<std::string> ClientCertificate::Assertion(const std::string& token_url, const std::string& client_id,
                                                 Micros now) const {
  unsigned char rnd[16];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return Internal("no randomness for the assertion id");
  char jti[33];
  for (int i = 0; i < 16; ++i) std::snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
  int64_t secs = now / kMicrosPerSecond;
  nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", x5t_}};
  nlohmann::json claims = {{"aud", token_url}, {"iss", client_id}, {"sub", client_id},
                           {"jti", jti},       {"nbf", secs},      {"exp", secs + 600}};
  std::string signing_input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return Internal("out of memory signing the assertion");
  size_t sig_len = 0;
  std::string sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, static_cast<EVP_PKEY*>(key_)) == 1 &&
            EVP_DigestSign(ctx, nullptr, &sig_len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
  if (ok) {
    sig.resize(sig_len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                        reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
    sig.resize(sig_len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return InvalidArgument("defender.certificate: the key cannot sign RS256 (an RSA key is needed)");
  return signing_input + "." + Base64Url(sig);
}

}  // namespace vigil::ingest::defender

// Certificate credentials for the Microsoft identity platform: a client assertion, a JWT
// signed with the app's certificate key (RS256), sent instead of a client secret
// (grant_type=client_credentials with client_assertion_type jwt-bearer). The JWT header
// carries x5t, the base64url SHA-1 thumbprint of the certificate, so Entra ID can find the
// registered certificate; the claims are aud (the token endpoint), iss and sub (the client
// id), jti, nbf and exp (10 minutes).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "core/time.h"

namespace vigil::ingest::defender {

class ClientCertificate {
 public:
  ~ClientCertificate();
  ClientCertificate(const ClientCertificate&) = delete;
  ClientCertificate& operator=(const ClientCertificate&) = delete;

  // Loads a PEM file holding the private key and the certificate (either order). Errors name
  // the file and what was missing; the key's bytes never appear in them.
  static Result<std::unique_ptr<ClientCertificate>> Load(const std::string& pem_path);

  // A signed assertion for `token_url` and `client_id`, valid from `now` for 10 minutes.
  Result<std::string> Assertion(const std::string& token_url, const std::string& client_id, Micros now) const;

  const std::string& thumbprint() const { return x5t_; }  // base64url SHA-1 of the DER cert

 private:
  ClientCertificate() = default;
  void* key_ = nullptr;  // EVP_PKEY*, owned (OpenSSL's type kept out of this header)
  std::string x5t_;
};

// base64url without padding (RFC 7515), exposed for tests.
std::string Base64Url(const std::string& bytes);

}  // namespace vigil::ingest::defender

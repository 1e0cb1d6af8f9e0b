// Certificate credentials: the client assertion is a well-formed RS256 JWT that the
// certificate's public key verifies, and the poller sends it (never a secret) to the token
// endpoint.
#include "ingest/defender/client_assertion.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "ingest/defender/graph_poller.h"

namespace vigil::ingest::defender {
namespace {

std::string FromBase64Url(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s.push_back('=');
  std::string out(s.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return {};
  size_t pad = s.size() - s.find_last_not_of('=') - 1;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

class CertFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vigil-cert-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    pem_ = (dir_ / "app.pem").string();
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + (dir_ / "k.pem").string() +
                      " -out " + (dir_ / "c.pem").string() + " -subj /CN=vigil-test -days 1 2>/dev/null && cat " +
                      (dir_ / "k.pem").string() + " " + (dir_ / "c.pem").string() + " > " + pem_;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "needs the openssl command";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Verifies an RS256 JWT with the certificate's public key; returns the claims.
  nlohmann::json Verify(const std::string& jwt, nlohmann::json* header) {
    size_t a = jwt.find('.'), b = jwt.rfind('.');
    EXPECT_NE(a, b);
    *header = nlohmann::json::parse(FromBase64Url(jwt.substr(0, a)));
    nlohmann::json claims = nlohmann::json::parse(FromBase64Url(jwt.substr(a + 1, b - a - 1)));
    std::string sig = FromBase64Url(jwt.substr(b + 1));
    std::FILE* f = std::fopen((dir_ / "c.pem").string().c_str(), "rb");
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    EVP_PKEY* pub = X509_get_pubkey(cert);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::string input = jwt.substr(0, b);
    int ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub) == 1 &&
             EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
    unsigned char sha1[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha1(), sha1, &n);
    thumb_ = Base64Url(std::string(reinterpret_cast<char*>(sha1), n));
    X509_free(cert);
    EXPECT_TRUE(ok) << "the signature does not verify with the certificate's key";
    return claims;
  }

  std::filesystem::path dir_;
  std::string pem_;
  std::string thumb_;
};

TEST(Base64Url, EncodesWithoutPaddingInTheUrlAlphabet) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg");
  EXPECT_EQ(Base64Url("fo"), "Zm8");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url(std::string("\xfb\xff", 2)), "-_8");
}

TEST_F(CertFixture, AssertionIsAnRs256JwtTheCertificateVerifies) {
  auto c = ClientCertificate::Load(pem_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Micros now = 1'767'225'600LL * kMicrosPerSecond;
  auto jwt = (*c)->Assertion("https://login.example/t1/oauth2/v2.0/token", "client-1", now);
  ASSERT_TRUE(jwt.ok());
  nlohmann::json header;
  auto claims = Verify(*jwt, &header);
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["x5t"], thumb_);
  EXPECT_EQ(claims["aud"], "https://login.example/t1/oauth2/v2.0/token");
  EXPECT_EQ(claims["iss"], "client-1");
  EXPECT_EQ(claims["sub"], "client-1");
  EXPECT_EQ(claims["nbf"], 1767225600);
  EXPECT_EQ(claims["exp"], 1767225600 + 600);
  EXPECT_EQ(claims["jti"].get<std::string>().size(), 32u);
}

TEST_F(CertFixture, AFileWithoutKeyOrCertificateIsAConfigError) {
  auto only_cert = ClientCertificate::Load((dir_ / "c.pem").string());
  ASSERT_FALSE(only_cert.ok());
  EXPECT_NE(only_cert.status().message().find("private key"), std::string::npos);
  EXPECT_FALSE(ClientCertificate::Load((dir_ / "missing.pem").string()).ok());
}

TEST_F(CertFixture, PollerSendsTheSignedAssertionAndNoSecret) {
  httplib::Server token_server;
  std::string seen_type, seen_assertion, seen_secret = "unset";
  token_server.Post(R"(/([^/]+)/oauth2/v2.0/token)", [&](const httplib::Request& req, httplib::Response& res) {
    seen_type = req.get_param_value("client_assertion_type");
    seen_assertion = req.get_param_value("client_assertion");
    seen_secret = req.has_param("client_secret") ? req.get_param_value("client_secret") : "";
    res.set_content(R"({"token_type":"Bearer","expires_in":3599,"access_token":"tok"})", "application/json");
  });
  token_server.Get("/v1.0/security/alerts_v2", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"value":[]})", "application/json");
  });
  int port = token_server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { token_server.listen_after_bind(); });
  GraphPollerOptions o;
  o.tenant_id = "tenant-1";
  o.client_id = "client-1";
  o.certificate_path = pem_;
  o.client_secret_env = "VIGIL_TEST_NO_SUCH_SECRET";
  o.authority_url = "http://127.0.0.1:" + std::to_string(port);
  o.graph_url = o.authority_url;
  auto p = GraphPoller::Create(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto stats = (*p)->PollOnce([](GraphPage&) {});
  token_server.stop();
  t.join();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(seen_type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  EXPECT_EQ(seen_secret, "");
  nlohmann::json header;
  auto claims = Verify(seen_assertion, &header);
  EXPECT_EQ(claims["aud"], o.authority_url + "/tenant-1/oauth2/v2.0/token");
  EXPECT_EQ(claims["iss"], "client-1");
}

}  // namespace
}  // namespace vigil::ingest::defender

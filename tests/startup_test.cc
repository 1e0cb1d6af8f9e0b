// What a vigil command loads when it starts. libcurl, libpq and libpcap, and the libraries
// they bring (TLS, Kerberos, LDAP, D-Bus, ...), are opened on first use only
// (src/core/dynlib.h): a replay of Zeek logs into SQLite needs none of them and must not
// map them, and a command that does need one still gets it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "test_util.h"

namespace vigil {
namespace {

using testutil::RunVigil;
using testutil::TempDir;

// Runs vigil with the dynamic loader tracing every library it loads (LD_DEBUG=libs).
testutil::RunResult RunTracingLibraries(const std::string& args) {
  setenv("LD_DEBUG", "libs", 1);
  auto r = RunVigil(args);
  unsetenv("LD_DEBUG");
  return r;
}

TEST(Startup, AReplayIntoSqliteLoadsNeitherCurlNorLibpqNorLibpcap) {
  TempDir tmp;
  auto r = RunTracingLibraries("replay --quiet --state " + tmp.path() + "/state " +
                               VIGIL_SOURCE_DIR + "/tests/data/zeek/conn_008.log");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The trace works: the libraries a replay does use are in it.
  ASSERT_NE(r.output.find("libsqlite3.so"), std::string::npos) << r.output.substr(0, 2000);
  EXPECT_EQ(r.output.find("libcurl"), std::string::npos);
  EXPECT_EQ(r.output.find("libpq.so"), std::string::npos);
  EXPECT_EQ(r.output.find("libpcap"), std::string::npos);
  EXPECT_EQ(r.output.find("libgssapi"), std::string::npos);
}

TEST(Startup, AStoreOnPostgresqlLoadsLibpqWhenItConnects) {
  // No server is needed to see the library load: connecting to a port nothing listens on
  // fails after libpq is opened, and the failure names the connection, not the library.
  TempDir tmp;
  testutil::WriteFile(tmp.path() + "/pg.yaml",
                      "store:\n  backend: postgres\n"
                      "  postgres: \"host=127.0.0.1 port=1 dbname=none connect_timeout=2\"\n");
  auto r = RunTracingLibraries("replay --quiet --config " + tmp.path() + "/pg.yaml --state " +
                               tmp.path() + "/state " + VIGIL_SOURCE_DIR +
                               "/tests/data/zeek/conn_008.log");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("libpq.so.5"), std::string::npos) << r.output.substr(0, 2000);
  const size_t tail = r.output.size() > 3000 ? r.output.size() - 3000 : 0;
  EXPECT_NE(r.output.find("cannot connect"), std::string::npos) << r.output.substr(tail);
}

}  // namespace
}  // namespace vigil

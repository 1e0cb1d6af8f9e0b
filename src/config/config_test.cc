#include "config/config.h"

#include <gtest/gtest.h>

namespace vigil::config {
namespace {

TEST(Config, DefaultsDocumentEveryKeyTheEngineReads) {
  Config c = Config::Defaults();
  EXPECT_EQ(c.GetDuration("learning.period"), 72 * kMicrosPerHour);
  EXPECT_TRUE(c.internal_networks().Contains(*IpAddr::Parse("192.168.1.1")));
  EXPECT_TRUE(c.internal_networks().Contains(*IpAddr::Parse("100.64.0.1")));
  EXPECT_FALSE(c.internal_networks().Contains(*IpAddr::Parse("8.8.8.8")));
  EXPECT_GT(c.GetNumber("models.network/rare-external-destination.threshold"), 0);
  EXPECT_TRUE(c.Has("engine.reorder_window"));
}

TEST(Config, UnknownKeyIsAnErrorNamingFileLineAndColumn) {
  auto r = LoadConfigText("learning:\n  period: 24h\n  perod: 3h\n", "site.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 3);
  EXPECT_NE(r.errors[0].ToText().find("site.yaml:3:3: unknown key 'perod'"), std::string::npos)
      << r.errors[0].ToText();
  EXPECT_EQ(r.ToJson()["errors"][0]["line"], 3);
}

TEST(Config, BadValuesAreErrorsWithTheirPosition) {
  auto r = LoadConfigText("learning:\n  period: soon\nengine:\n  shards: many\nnetworks:\n  internal: [10.0.0.0/33]\n",
                          "x.yaml");
  ASSERT_FALSE(r.ok());
  std::string text = r.ToText();
  EXPECT_NE(text.find("x.yaml:2:"), std::string::npos) << text;
  EXPECT_NE(text.find("x.yaml:4:"), std::string::npos) << text;
  auto r2 = LoadConfigText("networks:\n  internal: [10.0.0.0/33]\n", "y.yaml");
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.ToText().find("y.yaml:2:"), std::string::npos) << r2.ToText();
}

TEST(Config, YamlSyntaxErrorsArePositioned) {
  auto r = LoadConfigText("learning:\n  period: [72h\n", "z.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_GT(r.errors[0].line, 0);
}

TEST(Config, UserValuesOverlayDefaultsAndFlagsOverrideBoth) {
  auto r = LoadConfigText("networks:\n  internal: [10.20.0.0/16]\nlearning:\n  period: 24h\n", "s.yaml");
  ASSERT_TRUE(r.ok()) << r.ToText();
  Config c = *r.config;
  EXPECT_TRUE(c.internal_networks().Contains(*IpAddr::Parse("10.20.1.1")));
  EXPECT_FALSE(c.internal_networks().Contains(*IpAddr::Parse("192.168.1.1")));
  EXPECT_EQ(c.GetDuration("learning.period"), 24 * kMicrosPerHour);
  EXPECT_EQ(c.GetDuration("engine.reorder_window"), 5 * kMicrosPerMinute);  // default kept
  ASSERT_TRUE(c.Set("learning.period", "2h").ok());
  EXPECT_EQ(c.GetDuration("learning.period"), 2 * kMicrosPerHour);
  EXPECT_FALSE(c.Set("learning.period", "soon").ok());
  EXPECT_FALSE(c.Set("networks.internal", "[\"nonsense\"]").ok());
  EXPECT_FALSE(c.Set("no.such.key", "1").ok());
}

// Lookups read the merged document without changing it: a key looked up and missing is not
// added, and a node handed out is a copy.
TEST(Config, LookupsLeaveTheDocumentAsItWas) {
  auto r = LoadConfigText("learning:\n  period: 24h\n", "s.yaml");
  ASSERT_TRUE(r.ok()) << r.ToText();
  Config c = *r.config;
  const size_t keys = c.Node("learning").size();
  EXPECT_FALSE(c.Has("learning.no_such_key"));
  EXPECT_FALSE(c.Has("learning.period.deeper"));
  EXPECT_EQ(c.GetString("learning.no_such_key"), "");
  EXPECT_EQ(c.Node("learning").size(), keys);
  YAML::Node copy = c.Node("learning");
  copy["period"] = "1h";
  copy["added"] = "x";
  EXPECT_EQ(c.GetDuration("learning.period"), 24 * kMicrosPerHour);
  EXPECT_FALSE(c.Has("learning.added"));
  EXPECT_EQ(c.Node("learning").size(), keys);
}

TEST(Config, ListItemsAreCheckedAgainstTheirSchema) {
  auto ok = LoadConfigText("allow:\n  - model: network/beaconing\n    entity: 10.0.0.5\n    reason: backup job\n", "a.yaml");
  EXPECT_TRUE(ok.ok()) << ok.ToText();
  auto bad = LoadConfigText("allow:\n  - model: network/beaconing\n    entty: 10.0.0.5\n", "a.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.errors[0].line, 3);
}

}  // namespace
}  // namespace vigil::config

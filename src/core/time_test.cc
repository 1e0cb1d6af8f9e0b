#include "core/time.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Time, EpochSecondsWithFractionsParseToMicroseconds) {
  EXPECT_EQ(ParseEpochSeconds("1320279566.452687"), 1320279566452687LL);
  EXPECT_EQ(ParseEpochSeconds("1320279566"), 1320279566000000LL);
  EXPECT_EQ(ParseEpochSeconds("0.000001"), 1);
  EXPECT_EQ(ParseEpochSeconds("12.5"), 12500000);  // near the epoch is data, not an error
}

TEST(Time, NonTimestampsAreRejectedNotGuessed) {
  for (const char* bad : {"", "-", "abc", "12.3.4", "1e9", "99999999999999999999", "12 "})
    EXPECT_FALSE(ParseEpochSeconds(bad).has_value()) << bad;
}

TEST(Time, Iso8601FormsOfCloudTrailGraphAndSuricataParse) {
  EXPECT_EQ(ParseIso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIso8601("2020-09-14T01:19:40Z"), 1600046380LL * kMicrosPerSecond);
  EXPECT_EQ(ParseIso8601("2021-06-08T17:13:47.3116667Z"), 1623172427311666LL);
  EXPECT_EQ(ParseIso8601("2016-10-21T22:11:37.000000+0200"), 1477080697LL * kMicrosPerSecond);
  EXPECT_EQ(ParseIso8601("2016-10-21T22:11:37+02:00"), 1477080697LL * kMicrosPerSecond);
  EXPECT_FALSE(ParseIso8601("2020-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseIso8601("2020-09-14T25:00:00Z").has_value());
  EXPECT_FALSE(ParseIso8601("yesterday").has_value());
}

TEST(Time, Rfc3339FormattingRoundTrips) {
  for (Micros t : {0LL, 1600046380LL * kMicrosPerSecond, 1623172427311666LL, -1500000LL}) {
    auto s = FormatRfc3339(t);
    EXPECT_EQ(ParseIso8601(s), t) << s;
  }
  EXPECT_EQ(FormatRfc3339(1600046380LL * kMicrosPerSecond), "2020-09-14T01:19:40Z");
}

TEST(Time, DurationsParseInEveryUnitAndFormatReadably) {
  EXPECT_EQ(ParseDuration("72h"), 72 * kMicrosPerHour);
  EXPECT_EQ(ParseDuration("1h30m"), 90 * kMicrosPerMinute);
  EXPECT_EQ(ParseDuration("250ms"), 250000);
  EXPECT_EQ(ParseDuration("3600"), kMicrosPerHour);
  EXPECT_EQ(ParseDuration("7d"), 7 * kMicrosPerDay);
  EXPECT_FALSE(ParseDuration("soon").has_value());
  EXPECT_FALSE(ParseDuration("5x").has_value());
  EXPECT_EQ(FormatDuration(72 * kMicrosPerHour), "72h");
  EXPECT_EQ(FormatDuration(90 * kMicrosPerMinute), "1h30m");
}

}  // namespace
}  // namespace vigil

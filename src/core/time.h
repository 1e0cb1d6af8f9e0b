// Event time. All logic in Vigil runs on event time (ARCHITECTURE.md "Time"), kept as
// signed microseconds since the Unix epoch, UTC. Parsers here are pure and never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

using Micros = int64_t;  // microseconds since 1970-01-01T00:00:00Z

inline constexpr Micros kMicrosPerSecond = 1'000'000;
inline constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr Micros kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;

// Parses Zeek's epoch seconds with an optional fraction ("1320279566.452687").
// Returns nullopt for anything else (empty, signs in the wrong place, > 18 integer digits).
std::optional<Micros> ParseEpochSeconds(std::string_view text);

// Parses RFC 3339 / ISO 8601 date-times as CloudTrail, Graph and Suricata write them:
// "2020-09-14T01:19:40Z", "2021-06-08T17:13:47.3116667Z", "2016-10-21T22:11:37.000000+0200",
// "2023-01-01T00:00:00+00:00". Fractions beyond microseconds are truncated.
std::optional<Micros> ParseIso8601(std::string_view text);

// "2020-09-14T01:19:40Z", or with ".ffffff" when the time has a sub-second part.
std::string FormatRfc3339(Micros t);

// Durations in config and flags: "90s", "15m", "72h", "7d", "1h30m", "250ms", plain
// seconds ("3600"). Returns nullopt when the text is not a duration.
std::optional<Micros> ParseDuration(std::string_view text);
// The shortest readable form: "72h", "15m", "1h30m", "2.5s".
std::string FormatDuration(Micros d);

// Days since the epoch for a civil date (proleptic Gregorian), exposed for tests.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace vigil

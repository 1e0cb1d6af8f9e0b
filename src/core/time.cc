#include "core/time.h"

#include <cstdio>

namespace vigil {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly n digits at text[pos]; advances pos.
std::optional<int64_t> Digits(std::string_view text, size_t& pos, size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<Micros> ParseEpochSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  size_t pos = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    pos = 1;
  }
  int64_t secs = 0;
  size_t int_digits = 0;
  while (pos < text.size() && IsDigit(text[pos])) {
    if (++int_digits > 12) return std::nullopt;  // beyond year 33000: not a timestamp
    secs = secs * 10 + (text[pos] - '0');
    ++pos;
  }
  if (int_digits == 0) return std::nullopt;
  int64_t frac = 0;
  if (pos < text.size()) {
    if (text[pos] != '.') return std::nullopt;
    ++pos;
    int64_t scale = 100000;
    size_t frac_digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (scale > 0) frac += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++frac_digits;
    }
    if (pos != text.size()) return std::nullopt;
    (void)frac_digits;
  }
  Micros v = secs * kMicrosPerSecond + frac;
  return negative ? -v : v;
}

std::optional<Micros> ParseIso8601(std::string_view text) {
  size_t pos = 0;
  auto year = Digits(text, pos, 4);
  if (!year || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  auto month = Digits(text, pos, 2);
  if (!month || pos >= text.size() || text[pos++] != '-') return std::nullopt;
  auto day = Digits(text, pos, 2);
  if (!day || *month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  int64_t hour = 0, minute = 0, second = 0, frac = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
    ++pos;
    auto h = Digits(text, pos, 2);
    if (!h || pos >= text.size() || text[pos++] != ':') return std::nullopt;
    auto mi = Digits(text, pos, 2);
    if (!mi) return std::nullopt;
    std::optional<int64_t> s = 0;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      s = Digits(text, pos, 2);
      if (!s) return std::nullopt;
    }
    hour = *h;
    minute = *mi;
    second = *s;
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      int64_t scale = 100000;
      size_t n = 0;
      while (pos < text.size() && IsDigit(text[pos])) {
        if (scale > 0) frac += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
        ++n;
      }
      if (n == 0) return std::nullopt;
    }
  }
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    char c = text[pos];
    if (c == 'Z' || c == 'z') {
      ++pos;
    } else if (c == '+' || c == '-') {
      ++pos;
      auto oh = Digits(text, pos, 2);
      if (!oh) return std::nullopt;
      if (pos < text.size() && text[pos] == ':') ++pos;
      auto om = Digits(text, pos, 2);
      if (!om) return std::nullopt;
      offset_minutes = (*oh * 60 + *om) * (c == '+' ? 1 : -1);
    } else {
      return std::nullopt;
    }
  }
  if (pos != text.size()) return std::nullopt;
  int64_t days = DaysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return secs * kMicrosPerSecond + frac;
}

std::string FormatRfc3339(Micros t) {
  int64_t secs = t >= 0 ? t / kMicrosPerSecond : -((-t + kMicrosPerSecond - 1) / kMicrosPerSecond);
  int64_t frac = t - secs * kMicrosPerSecond;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[64];
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y),
                  m, d, static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                  static_cast<long long>(rem % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                  static_cast<long long>(frac));
  }
  return buf;
}

std::optional<Micros> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  size_t pos = 0;
  Micros total = 0;
  bool any = false;
  while (pos < text.size()) {
    // number, optionally with a fraction
    double value = 0;
    size_t start = pos;
    while (pos < text.size() && IsDigit(text[pos])) value = value * 10 + (text[pos++] - '0');
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      double scale = 0.1;
      while (pos < text.size() && IsDigit(text[pos])) {
        value += (text[pos++] - '0') * scale;
        scale /= 10;
      }
    }
    if (pos == start) return std::nullopt;
    std::string_view unit;
    size_t ustart = pos;
    while (pos < text.size() && !IsDigit(text[pos]) && text[pos] != '.') ++pos;
    unit = text.substr(ustart, pos - ustart);
    double mult;
    if (unit.empty()) {
      if (any || pos != text.size()) return std::nullopt;
      mult = kMicrosPerSecond;
    } else if (unit == "us") {
      mult = 1;
    } else if (unit == "ms") {
      mult = 1000;
    } else if (unit == "s") {
      mult = kMicrosPerSecond;
    } else if (unit == "m") {
      mult = kMicrosPerMinute;
    } else if (unit == "h") {
      mult = kMicrosPerHour;
    } else if (unit == "d") {
      mult = kMicrosPerDay;
    } else if (unit == "w") {
      mult = 7.0 * kMicrosPerDay;
    } else {
      return std::nullopt;
    }
    total += static_cast<Micros>(value * mult + 0.5);
    any = true;
  }
  return total;
}

std::string FormatDuration(Micros d) {
  if (d == 0) return "0s";
  std::string out;
  if (d < 0) {
    out = "-";
    d = -d;
  }
  if (d % kMicrosPerSecond != 0 && d < kMicrosPerMinute) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(d) / kMicrosPerSecond);
    return out + buf;
  }
  Micros days = d / kMicrosPerDay;
  Micros rem = d % kMicrosPerDay;
  // Keep hours together unless days divide evenly: "72h" reads better than "3d".
  if (days > 0 && rem == 0 && days % 7 == 0) return out + std::to_string(days / 7) + "w";
  Micros hours = d / kMicrosPerHour;
  rem = d % kMicrosPerHour;
  if (hours) out += std::to_string(hours) + "h";
  Micros minutes = rem / kMicrosPerMinute;
  rem %= kMicrosPerMinute;
  if (minutes) out += std::to_string(minutes) + "m";
  Micros secs = rem / kMicrosPerSecond;
  if (secs) out += std::to_string(secs) + "s";
  return out;
}

}  // namespace vigil

#include "common/duration.h"

#include <cctype>
#include <cmath>

#include "common/strings.h"
#include "fmt/format.h"

namespace loadgen {

std::string FormatDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  std::string sign = ns < 0 ? "-" : "";
  if (ns < 0) ns = -ns;
  if (ns == 0) return "0s";
  constexpr int64_t kUs = 1000, kMs = 1000 * kUs, kS = 1000 * kMs, kM = 60 * kS, kH = 60 * kM;
  if (ns % kS == 0) {
    std::string out = sign;
    if (ns >= kH) out += fmt::format("{}h", ns / kH);
    if (ns % kH >= kM) out += fmt::format("{}m", ns % kH / kM);
    if (ns % kM != 0) out += fmt::format("{}s", ns % kM / kS);
    return out;
  }
  if (ns >= kS) return fmt::format("{}{:g}s", sign, static_cast<double>(ns) / kS);
  if (ns % kMs == 0 || ns >= kMs)
    return fmt::format("{}{:g}ms", sign, static_cast<double>(ns) / kMs);
  if (ns % kUs == 0 || ns >= kUs)
    return fmt::format("{}{:g}us", sign, static_cast<double>(ns) / kUs);
  return fmt::format("{}{}ns", sign, ns);
}

absl::StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text,
                                                       std::string_view what) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat(what, ": expected a duration such as 500ms, 10s, 5m or 1h30m, got \"", text, "\""));
  };
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return bad();
  if (text[0] == '-') {
    return absl::InvalidArgumentError(
        StrCat(what, ": a duration cannot be negative, got \"", text, "\""));
  }
  double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return bad();
    double v;
    if (!ParseDouble(text.substr(start, i - start), &v)) return bad();
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1e6;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "h")
      mult = 3600e9;
    else
      return bad();
    total_ns += v * mult;
  }
  if (total_ns > 9.2e18) return bad();
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total_ns)));
}

}  // namespace loadgen

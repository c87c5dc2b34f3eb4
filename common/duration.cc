#include "common/duration.h"

#include "absl/time/time.h"
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
  absl::Duration d;
  // absl reads Go-style durations: 500ms, 1.5s, 1h30m, 0; it also takes "inf" and
  // negatives, which no setting here means.
  if (text.empty() || !absl::ParseDuration(absl::string_view(text.data(), text.size()), &d) ||
      d == absl::InfiniteDuration() || d == -absl::InfiniteDuration() ||
      d > absl::Hours(24 * 365 * 100)) {
    return absl::InvalidArgumentError(
        StrCat(what, ": expected a duration such as 500ms, 10s, 5m or 1h30m, got \"", text, "\""));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        StrCat(what, ": a duration cannot be negative, got \"", text, "\""));
  }
  return absl::ToChronoNanoseconds(d);
}

}  // namespace loadgen

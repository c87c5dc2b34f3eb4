#include "sender/modes/summary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "common/otlp_signal.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace loadgen {
namespace {

using Json = nlohmann::ordered_json;

// Figures are written to the precision they are measured at, so files stay readable:
// `per` steps per unit (10: one decimal).
double Round(double v, double per) { return std::round(v * per) / per; }
double Ms(double v) { return Round(v, 1e3); }

constexpr std::array<const char*, 3> kSignalKeys = {"traces", "metrics", "logs"};

Json LatencyJson(const LatencyMs& l, bool merged) {
  Json j = {{"p50", Ms(l.p50)}, {"p99", Ms(l.p99)}, {"max", Ms(l.max)}};
  if (merged) j["merged"] = "worst instance";
  return j;
}

Json CountsJson(const SignalSummary& s) {
  return {{"events_sent", s.events_sent},
          {"events_accepted", s.events_accepted},
          {"events_rejected", s.events_rejected},
          {"events_failed", s.events_failed},
          {"requests", s.requests},
          {"rejected_requests", s.rejected_requests},
          {"failed_requests", s.failed_requests},
          {"retries", s.retries},
          {"bytes", s.bytes},
          {"wire_bytes", s.wire_bytes},
          {"late_requests", s.late_requests}};
}

Json SignalJson(const SignalSummary& s, bool merged) {
  Json j = CountsJson(s);
  j["events_per_second"] = Round(s.events_per_second, 10);
  j["latency_ms"] = LatencyJson(s.latency, merged);
  j["intended_latency_ms"] = LatencyJson(s.intended_latency, merged);
  j["errors"] = Json::array();
  for (const ErrorCount& e : s.errors) {
    j["errors"].push_back({{"kind", e.kind}, {"count", e.count}, {"message", e.message}});
  }
  return j;
}

Json CapacityJson(const CapacitySummary& c) {
  Json j = {{"sustained_rate", Round(c.sustained_rate, 10)},
            {"achieved", Round(c.achieved, 10)},
            {"error_share", Round(c.error_share, 1e6)},
            {"p99_ms", Ms(c.p99_ms)},
            {"lag_ms", Ms(c.lag_ms)},
            {"interrupted", c.interrupted},
            {"thresholds",
             {{"max_error_share", c.max_error_share},
              {"max_p99_ms", c.max_p99_ms},
              {"max_lag_ms", c.max_lag_ms},
              {"min_achieved_ratio", c.min_achieved_ratio}}},
            {"steps", Json::array()}};
  for (const CapacityStepSummary& s : c.steps) {
    j["steps"].push_back({{"target", Round(s.target, 10)},
                          {"achieved", Round(s.achieved, 10)},
                          {"error_share", Round(s.error_share, 1e6)},
                          {"p99_ms", Ms(s.p99_ms)},
                          {"lag_ms", Ms(s.lag_ms)},
                          {"held", s.held},
                          {"broke", s.broke}});
  }
  return j;
}

Json IntervalJson(const IntervalSummary& r, bool merged) {
  Json j = {{"t", Ms(r.t)},
            {"seconds", Ms(r.seconds)},
            {"target", Round(r.target, 10)},
            {"achieved", Round(r.achieved, 10)},
            {"accepted",
             {{kSignalKeys[0], r.accepted[0]},
              {kSignalKeys[1], r.accepted[1]},
              {kSignalKeys[2], r.accepted[2]}}},
            {"rejected", r.rejected},
            {"failed", r.failed},
            {"retries", r.retries},
            {"requests", r.requests},
            {"p50_ms", Ms(r.p50_ms)},
            {"p99_ms", Ms(r.p99_ms)},
            {"intended_p99_ms", Ms(r.intended_p99_ms)},
            {"in_flight", r.in_flight},
            {"lag_ms", Ms(r.lag_ms)},
            {"late_requests", r.late_requests}};
  if (merged) j["instances"] = r.instances;
  return j;
}

// Reading: a field of the wrong type names its path; one that is absent reads as zero.
struct FieldError {
  std::string path, expected;
};

class Reader {
 public:
  Reader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Reader At(std::string_view key) const {
    const Json* child = Find(key);
    if (child != nullptr && !child->is_object()) throw FieldError{Path(key), "an object"};
    return Reader(child != nullptr ? *child : Empty(), Path(key));
  }
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  template <typename F>
  void Each(std::string_view key, F f) const {
    const Json* child = Find(key);
    if (child == nullptr) return;
    if (!child->is_array()) throw FieldError{Path(key), "a list"};
    for (size_t i = 0; i < child->size(); ++i) {
      const Json& item = (*child)[i];
      const std::string path = StrCat(Path(key), "[", i, "]");
      if (!item.is_object()) throw FieldError{path, "an object"};
      f(Reader(item, path));
    }
  }
  void Get(std::string_view key, double* out) const {
    if (const Json* v = Find(key)) {
      if (!v->is_number()) throw FieldError{Path(key), "a number"};
      *out = v->get<double>();
    }
  }
  template <typename T>
  requires std::is_integral_v<T> &&
      (!std::is_same_v<T, bool>)void Get(std::string_view key, T* out) const {
    if (const Json* v = Find(key)) {
      // Integral values written as floats (1084.0) read as integers too.
      const double d = v->is_number() ? v->get<double>() : NAN;
      if (!v->is_number() || d != std::floor(d) || (std::is_unsigned_v<T> && d < 0)) {
        throw FieldError{Path(key),
                         std::is_unsigned_v<T> ? "a whole number >= 0" : "a whole number"};
      }
      // In range for the field's type: a value that does not fit would wrap (or,
      // converted from a double, be undefined).
      const double limit = std::ldexp(1.0, std::numeric_limits<T>::digits);
      if (d >= limit || d < (std::is_unsigned_v<T> ? 0.0 : -limit)) {
        throw FieldError{Path(key), StrCat("a whole number from ", std::numeric_limits<T>::min(),
                                           " to ", std::numeric_limits<T>::max())};
      }
      *out = v->is_number_integer() ? v->get<T>() : static_cast<T>(d);
    }
  }
  void Get(std::string_view key, bool* out) const {
    if (const Json* v = Find(key)) {
      if (!v->is_boolean()) throw FieldError{Path(key), "true or false"};
      *out = v->get<bool>();
    }
  }
  void Get(std::string_view key, std::string* out) const {
    if (const Json* v = Find(key)) {
      if (!v->is_string()) throw FieldError{Path(key), "a string"};
      *out = v->get<std::string>();
    }
  }

 private:
  static const Json& Empty() {
    static const Json empty = Json::object();
    return empty;
  }
  const Json* Find(std::string_view key) const {
    auto it = j_.find(key);
    return it != j_.end() && !it->is_null() ? &*it : nullptr;
  }
  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : StrCat(path_, ".", key);
  }
  const Json& j_;
  std::string path_;
};

LatencyMs ReadLatency(const Reader& r) {
  LatencyMs l;
  r.Get("p50", &l.p50);
  r.Get("p99", &l.p99);
  r.Get("max", &l.max);
  return l;
}

SignalSummary ReadSignal(const Reader& r) {
  SignalSummary s;
  r.Get("events_sent", &s.events_sent);
  r.Get("events_accepted", &s.events_accepted);
  r.Get("events_rejected", &s.events_rejected);
  r.Get("events_failed", &s.events_failed);
  r.Get("requests", &s.requests);
  r.Get("rejected_requests", &s.rejected_requests);
  r.Get("failed_requests", &s.failed_requests);
  r.Get("retries", &s.retries);
  r.Get("bytes", &s.bytes);
  r.Get("wire_bytes", &s.wire_bytes);
  r.Get("late_requests", &s.late_requests);
  r.Get("events_per_second", &s.events_per_second);
  s.latency = ReadLatency(r.At("latency_ms"));
  s.intended_latency = ReadLatency(r.At("intended_latency_ms"));
  r.Each("errors", [&](const Reader& e) {
    ErrorCount& out = s.errors.emplace_back();
    e.Get("kind", &out.kind);
    e.Get("count", &out.count);
    e.Get("message", &out.message);
  });
  return s;
}

CapacitySummary ReadCapacity(const Reader& r) {
  CapacitySummary c;
  r.Get("sustained_rate", &c.sustained_rate);
  r.Get("achieved", &c.achieved);
  r.Get("error_share", &c.error_share);
  r.Get("p99_ms", &c.p99_ms);
  r.Get("lag_ms", &c.lag_ms);
  r.Get("interrupted", &c.interrupted);
  const Reader t = r.At("thresholds");
  t.Get("max_error_share", &c.max_error_share);
  t.Get("max_p99_ms", &c.max_p99_ms);
  t.Get("max_lag_ms", &c.max_lag_ms);
  t.Get("min_achieved_ratio", &c.min_achieved_ratio);
  r.Each("steps", [&](const Reader& s) {
    CapacityStepSummary& out = c.steps.emplace_back();
    s.Get("target", &out.target);
    s.Get("achieved", &out.achieved);
    s.Get("error_share", &out.error_share);
    s.Get("p99_ms", &out.p99_ms);
    s.Get("lag_ms", &out.lag_ms);
    s.Get("held", &out.held);
    s.Get("broke", &out.broke);
  });
  return c;
}

IntervalSummary ReadInterval(const Reader& r) {
  IntervalSummary i;
  r.Get("t", &i.t);
  r.Get("seconds", &i.seconds);
  r.Get("target", &i.target);
  r.Get("achieved", &i.achieved);
  const Reader accepted = r.At("accepted");
  for (size_t k = 0; k < 3; ++k) accepted.Get(kSignalKeys[k], &i.accepted[k]);
  r.Get("rejected", &i.rejected);
  r.Get("failed", &i.failed);
  r.Get("retries", &i.retries);
  r.Get("requests", &i.requests);
  r.Get("late_requests", &i.late_requests);
  r.Get("p50_ms", &i.p50_ms);
  r.Get("p99_ms", &i.p99_ms);
  r.Get("intended_p99_ms", &i.intended_p99_ms);
  r.Get("lag_ms", &i.lag_ms);
  r.Get("in_flight", &i.in_flight);
  r.Get("instances", &i.instances);
  return i;
}

RunSummary ReadRun(const Reader& r) {
  RunSummary s;
  r.Get("merged_from", &s.merged_from);
  r.Get("endpoint", &s.endpoint);
  r.Get("elapsed_seconds", &s.elapsed_seconds);
  r.Get("target_rate", &s.target_rate);
  r.Get("schedule", &s.schedule);
  r.Get("stop_reason", &s.stop_reason);
  r.Get("instance", &s.instance);
  r.Get("instances", &s.instances);
  r.Get("start_unix_ns", &s.start_unix_ns);
  r.Get("stats_interval_seconds", &s.stats_interval_seconds);
  if (r.Has("capacity")) s.capacity = ReadCapacity(r.At("capacity"));
  const Reader signals = r.At("signals");
  for (size_t k = 0; k < 3; ++k) s.signals[k] = ReadSignal(signals.At(kSignalKeys[k]));
  const Reader in_flight = r.At("in_flight");
  in_flight.Get("peak", &s.in_flight_peak);
  in_flight.Get("limit", &s.in_flight_limit);
  const Reader lag = r.At("schedule_lag_ms");
  lag.Get("paced", &s.paced);
  lag.Get("final", &s.lag_final_ms);
  lag.Get("max", &s.lag_max_ms);
  lag.Get("pacing_interval", &s.pacing_interval_ms);
  r.Get("peak_rss_bytes", &s.peak_rss_bytes);
  if (r.Has("late_roots")) {
    const Reader late = r.At("late_roots");
    late.Get("sent", &s.late_roots_sent);
    late.Get("failed", &s.late_roots_failed);
  }
  r.Each("intervals", [&](const Reader& i) { s.intervals.push_back(ReadInterval(i)); });
  return s;
}

}  // namespace

void AddCounts(const SignalSummary& from, SignalSummary* to) {
  to->events_sent += from.events_sent;
  to->events_accepted += from.events_accepted;
  to->events_rejected += from.events_rejected;
  to->events_failed += from.events_failed;
  to->requests += from.requests;
  to->rejected_requests += from.rejected_requests;
  to->failed_requests += from.failed_requests;
  to->retries += from.retries;
  to->bytes += from.bytes;
  to->wire_bytes += from.wire_bytes;
  to->late_requests += from.late_requests;
}

SignalSummary RunSummary::Total() const {
  SignalSummary t;
  for (const SignalSummary& s : signals) AddCounts(s, &t);
  t.events_per_second = elapsed_seconds > 0 ? t.events_accepted / elapsed_seconds : 0;
  return t;
}

std::string ToJson(const RunSummary& s) {
  const bool merged = s.merged_from > 0;
  Json j = Json::object();
  if (merged) j["merged_from"] = s.merged_from;
  j["endpoint"] = s.endpoint;
  j["elapsed_seconds"] = Ms(s.elapsed_seconds);
  j["target_rate"] = s.target_rate;
  j["schedule"] = s.schedule;
  j["stop_reason"] = s.stop_reason;
  j["instance"] = s.instance;
  j["instances"] = s.instances;
  j["start_unix_ns"] = s.start_unix_ns;
  j["stats_interval_seconds"] = Ms(s.stats_interval_seconds);
  if (s.capacity) j["capacity"] = CapacityJson(*s.capacity);
  Json& signals = j["signals"] = Json::object();
  for (size_t k = 0; k < 3; ++k) signals[kSignalKeys[k]] = SignalJson(s.signals[k], merged);
  const SignalSummary total = s.Total();
  j["total"] = CountsJson(total);
  j["total"]["events_per_second"] = Round(total.events_per_second, 10);
  j["in_flight"] = {{"peak", s.in_flight_peak}, {"limit", s.in_flight_limit}};
  j["schedule_lag_ms"] = {{"paced", s.paced},
                          {"final", Ms(s.lag_final_ms)},
                          {"max", Ms(s.lag_max_ms)},
                          {"pacing_interval", Ms(s.pacing_interval_ms)}};
  if (merged) j["schedule_lag_ms"]["merged"] = "worst instance";
  j["peak_rss_bytes"] = s.peak_rss_bytes;
  if (s.late_roots_sent + s.late_roots_failed > 0) {
    j["late_roots"] = {{"sent", s.late_roots_sent}, {"failed", s.late_roots_failed}};
  }
  Json& intervals = j["intervals"] = Json::array();
  for (const IntervalSummary& r : s.intervals) intervals.push_back(IntervalJson(r, merged));
  return j.dump(2) + "\n";
}

absl::StatusOr<RunSummary> ParseRunSummary(std::string_view text, const std::string& source) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    const size_t at = std::min<size_t>(e.byte, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(at), '\n');
    return absl::InvalidArgumentError(StrCat(source, ":", line, ": not valid JSON (byte ", e.byte,
                                             "); written by telemetry-sender --stats-json?"));
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        StrCat(source, ": not a JSON summary (written by telemetry-sender --stats-json?)"));
  }
  for (const char* key : {"signals", "elapsed_seconds", "start_unix_ns", "intervals"}) {
    if (!j.contains(key)) {
      return absl::InvalidArgumentError(StrCat(source, ": not a sender JSON summary (no \"", key,
                                               "\"; written by telemetry-sender --stats-json?)"));
    }
  }
  try {
    return ReadRun(Reader(j, ""));
  } catch (const FieldError& e) {
    return absl::InvalidArgumentError(StrCat(source, ": ", e.path, ": expected ", e.expected));
  }
}

}  // namespace loadgen

#include "sender/stats.h"

#include <bit>
#include <cctype>

#include "fmt/core.h"

namespace loadgen {

int LatencyHistogram::Bucket(uint64_t ns) {
  if (ns < kSub) return static_cast<int>(ns);
  const int exp = 63 - std::countl_zero(ns);  // >= 3
  const int sub = static_cast<int>((ns >> (exp - 3)) & (kSub - 1));
  return (exp - 2) * kSub + sub;
}

int64_t LatencyHistogram::UpperEdge(int bucket) {
  if (bucket < kSub) return bucket;
  const int exp = bucket / kSub + 2;
  const int sub = bucket % kSub;
  return static_cast<int64_t>(((uint64_t{kSub} + sub + 1) << (exp - 3)) - 1);
}

void LatencyHistogram::Record(int64_t ns) {
  if (ns < 0) ns = 0;
  counts_[Bucket(static_cast<uint64_t>(ns))].fetch_add(1, std::memory_order_relaxed);
  int64_t prev = max_.load(std::memory_order_relaxed);
  while (ns > prev && !max_.compare_exchange_weak(prev, ns, std::memory_order_relaxed)) {
  }
}

uint64_t LatencyHistogram::Count() const {
  uint64_t n = 0;
  for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
  return n;
}

int64_t LatencyHistogram::Quantile(double q) const {
  const uint64_t total = Count();
  if (total == 0) return 0;
  const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[b].load(std::memory_order_relaxed);
    if (seen >= rank) return std::min(UpperEdge(b), Max());
  }
  return Max();
}

void LatencyHistogram::AddCountsTo(Counts* out) const {
  for (int b = 0; b < kBuckets; ++b) (*out)[b] += counts_[b].load(std::memory_order_relaxed);
}

int64_t LatencyHistogram::QuantileOf(const Counts& counts, double q) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return 0;
  const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1;
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts[b];
    if (seen >= rank) return UpperEdge(b);
  }
  return UpperEdge(kBuckets - 1);
}

SignalSnapshot RunStats::Snapshot(Signal s) const {
  const SignalCounters& c = signals_[SignalIndex(s)];
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  SignalSnapshot out;
  out.requests = ld(c.requests);
  out.events_sent = ld(c.events_sent);
  out.events_accepted = ld(c.events_accepted);
  out.events_rejected = ld(c.events_rejected);
  out.rejected_requests = ld(c.rejected_requests);
  out.events_failed = ld(c.events_failed);
  out.failed_requests = ld(c.failed_requests);
  out.retries = ld(c.retries);
  out.bytes_sent = ld(c.bytes_sent);
  out.wire_bytes_sent = ld(c.wire_bytes_sent);
  out.late_requests = ld(c.late_requests);
  out.p50_ns = c.latency.Quantile(0.5);
  out.p99_ns = c.latency.Quantile(0.99);
  out.max_ns = c.latency.Max();
  out.intended_p50_ns = c.intended_latency.Quantile(0.5);
  out.intended_p99_ns = c.intended_latency.Quantile(0.99);
  out.intended_max_ns = c.intended_latency.Max();
  return out;
}

std::string_view ErrorHint(std::string_view message) {
  std::string lower(message);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("wrong_version_number") != std::string::npos ||
      lower.find("ssl_error") != std::string::npos ||
      lower.find("handshake") != std::string::npos) {
    return " (the TLS handshake failed: if the server speaks plaintext, set otlp.insecure: "
           "true or use an http:// endpoint)";
  }
  if (lower.find("connection refused") != std::string::npos ||
      lower.find("couldn't connect") != std::string::npos) {
    return " (nothing listens there: is the receiver up, and is the endpoint right?)";
  }
  return "";
}

void RunStats::NoteError(Signal s, const std::string& kind, const std::string& message) {
  MutexLock lock(&error_mu_);
  for (ErrorKind& e : errors_[SignalIndex(s)]) {
    if (e.kind == kind) {
      ++e.count;
      return;
    }
  }
  errors_[SignalIndex(s)].push_back({kind, 1, message});
  // The first of each kind is told at once: a run where every send fails must say
  // why while it runs, not only in the summary at its end.
  if (printed_kinds_.insert(kind).second) {
    fmt::print(stderr, "telemetry-sender: {}: {}: {}{}\n", SignalName(s), kind, message,
               ErrorHint(message));
  }
}

std::vector<RunStats::ErrorKind> RunStats::Errors(Signal s) const {
  MutexLock lock(&error_mu_);
  return errors_[SignalIndex(s)];
}

}  // namespace loadgen

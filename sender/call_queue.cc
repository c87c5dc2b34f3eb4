#include "sender/call_queue.h"

#include <algorithm>
#include <cmath>

#include "common/otlp_wire.h"
#include "common/strings.h"

namespace loadgen {

void OutcomeCounter::Completed(const internal::CallBase& call) {
  SignalCounters& c = stats_->of(signal_);
  c.requests.fetch_add(1, std::memory_order_relaxed);
  c.events_sent.fetch_add(call.request.events, std::memory_order_relaxed);
  c.bytes_sent.fetch_add(call.bytes, std::memory_order_relaxed);
  c.wire_bytes_sent.fetch_add(call.wire_bytes, std::memory_order_relaxed);
}

void OutcomeCounter::Accepted(const internal::CallBase& call, std::string_view response) {
  Completed(call);
  const uint64_t events = call.request.events;
  const otlp::PartialSuccess partial = otlp::DecodeExportResponse(response);
  const std::string& message = partial.message;
  const int64_t rejected = std::clamp<int64_t>(partial.rejected, 0, static_cast<int64_t>(events));
  SignalCounters& c = stats_->of(signal_);
  c.events_accepted.fetch_add(events - rejected, std::memory_order_relaxed);
  if (rejected > 0) {
    c.events_rejected.fetch_add(rejected, std::memory_order_relaxed);
    stats_->NoteError(signal_, "partial_success", message);
    if (options_.on_rejected) {
      options_.on_rejected(signal_, StrCat("partial_success: ", rejected, " rejected: ", message));
    }
  }
}

void OutcomeCounter::Rejected(const internal::CallBase& call, const std::string& kind,
                              const std::string& message) {
  Completed(call);
  SignalCounters& c = stats_->of(signal_);
  c.rejected_requests.fetch_add(1, std::memory_order_relaxed);
  c.events_rejected.fetch_add(call.request.events, std::memory_order_relaxed);
  stats_->NoteError(signal_, kind, message);
  if (options_.on_rejected) options_.on_rejected(signal_, StrCat(kind, ": ", message));
}

void OutcomeCounter::Failed(const internal::CallBase& call, const std::string& kind,
                            const std::string& message) {
  Completed(call);
  SignalCounters& c = stats_->of(signal_);
  c.failed_requests.fetch_add(1, std::memory_order_relaxed);
  c.events_failed.fetch_add(call.request.events, std::memory_order_relaxed);
  stats_->NoteError(signal_, kind, message);
}

void OutcomeCounter::Retried(const std::string& kind, const std::string& message) {
  stats_->of(signal_).retries.fetch_add(1, std::memory_order_relaxed);
  stats_->NoteError(signal_, StrCat(kind, " (retried)"), message);
}

int64_t RetryBackoffNs(const RetryPolicy& p, int attempt, int64_t server_delay_ns, Rng* rng) {
  if (server_delay_ns >= 0) return server_delay_ns;
  double interval =
      static_cast<double>(p.initial_interval.count()) * std::pow(p.multiplier, attempt - 1);
  interval = std::min(interval, static_cast<double>(p.max_interval.count()));
  interval *= 1 + p.randomization_factor * (2 * rng->Unit() - 1);
  return static_cast<int64_t>(interval);
}

}  // namespace loadgen

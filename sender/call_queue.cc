#include "sender/call_queue.h"

#include <algorithm>
#include <cmath>

#include "common/strings.h"
#include "common/wire.h"

namespace loadgen {

void OutcomeCounter::Completed(uint64_t events, size_t bytes) {
  SignalCounters& c = stats_->of(signal_);
  c.requests.fetch_add(1, std::memory_order_relaxed);
  c.events_sent.fetch_add(events, std::memory_order_relaxed);
  c.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
}

void OutcomeCounter::Accepted(uint64_t events, size_t bytes, std::string_view response) {
  Completed(events, bytes);
  // partial_success (field 1 of all three responses): 1 rejected count, 2 error_message.
  int64_t rejected = 0;
  std::string message;
  wire::FieldReader r(response);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number != 1 || f.type != wire::kLen) continue;
    wire::FieldReader pr(f.data, f.size);
    wire::Field pf;
    while (pr.Next(&pf)) {
      if (pf.number == 1 && pf.type == wire::kVarint) rejected = static_cast<int64_t>(pf.varint);
      if (pf.number == 2 && pf.type == wire::kLen) {
        message.assign(reinterpret_cast<const char*>(pf.data), pf.size);
      }
    }
  }
  rejected = std::clamp<int64_t>(rejected, 0, static_cast<int64_t>(events));
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

void OutcomeCounter::Rejected(uint64_t events, size_t bytes, const std::string& kind,
                              const std::string& message) {
  Completed(events, bytes);
  SignalCounters& c = stats_->of(signal_);
  c.rejected_requests.fetch_add(1, std::memory_order_relaxed);
  c.events_rejected.fetch_add(events, std::memory_order_relaxed);
  stats_->NoteError(signal_, kind, message);
  if (options_.on_rejected) options_.on_rejected(signal_, StrCat(kind, ": ", message));
}

void OutcomeCounter::Failed(uint64_t events, size_t bytes, const std::string& kind,
                            const std::string& message) {
  Completed(events, bytes);
  SignalCounters& c = stats_->of(signal_);
  c.failed_requests.fetch_add(1, std::memory_order_relaxed);
  c.events_failed.fetch_add(events, std::memory_order_relaxed);
  stats_->NoteError(signal_, kind, message);
}

void OutcomeCounter::Retried(const std::string& kind, const std::string& message) {
  stats_->of(signal_).retries.fetch_add(1, std::memory_order_relaxed);
  stats_->NoteError(signal_, StrCat(kind, " (retried)"), message);
}

bool IsRetryable(int code, bool has_retry_info) {
  switch (code) {
    case grpc::CANCELLED:
    case grpc::DEADLINE_EXCEEDED:
    case grpc::ABORTED:
    case grpc::OUT_OF_RANGE:
    case grpc::UNAVAILABLE:
    case grpc::DATA_LOSS: return true;
    case grpc::RESOURCE_EXHAUSTED:
      return has_retry_info;  // Throttling; without RetryInfo it means "too big".
    default: return false;
  }
}

int64_t RetryDelayNs(std::string_view details) {
  // google.rpc.Status: 3 details (repeated Any: 1 type_url, 2 value);
  // RetryInfo: 1 retry_delay (Duration: 1 seconds, 2 nanos).
  int64_t delay = -1;
  wire::FieldReader status(details);
  wire::Field f;
  while (status.Next(&f)) {
    if (f.number != 3 || f.type != wire::kLen) continue;
    std::string_view type_url, value;
    wire::FieldReader any(f.data, f.size);
    wire::Field af;
    while (any.Next(&af)) {
      if (af.type != wire::kLen) continue;
      std::string_view v(reinterpret_cast<const char*>(af.data), af.size);
      if (af.number == 1) type_url = v;
      if (af.number == 2) value = v;
    }
    if (type_url != "type.googleapis.com/google.rpc.RetryInfo") continue;
    delay = 0;
    wire::FieldReader info(value);
    wire::Field rf;
    while (info.Next(&rf)) {
      if (rf.number != 1 || rf.type != wire::kLen) continue;
      wire::FieldReader duration(rf.data, rf.size);
      wire::Field df;
      while (duration.Next(&df)) {
        if (df.type != wire::kVarint) continue;
        if (df.number == 1) delay += static_cast<int64_t>(df.varint) * 1000000000;
        if (df.number == 2) delay += static_cast<int64_t>(df.varint);
      }
    }
  }
  return delay;
}

int64_t RetryBackoffNs(const RetryPolicy& p, int attempt, int64_t server_delay_ns, Rng* rng) {
  if (server_delay_ns >= 0) return server_delay_ns;
  double interval =
      static_cast<double>(p.initial_interval.count()) * std::pow(p.multiplier, attempt - 1);
  interval = std::min(interval, static_cast<double>(p.max_interval.count()));
  interval *= 1 + p.randomization_factor * (2 * rng->Unit() - 1);
  return static_cast<int64_t>(interval);
}

const char* GrpcCodeName(int code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

}  // namespace loadgen

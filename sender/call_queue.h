// What every exporter shares: the calls outstanding and the retry queue
// (CallQueueExporter), the request's compression, how a request's outcome is counted
// (OutcomeCounter), and the backoff between retries (which codes retry is in
// common/otlp_wire).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/compression.h"
#include "common/otlp_wire.h"
#include "common/random.h"
#include "common/strings.h"
#include "grpcpp/support/status_code_enum.h"
#include "sender/exporter.h"

namespace loadgen {

// The wait before retry number `attempt` (1 = the first retry) by the policy's
// exponential backoff with jitter, or the server's delay when it gave one (>= 0).
int64_t RetryBackoffNs(const RetryPolicy& policy, int attempt, int64_t server_delay_ns, Rng* rng);

namespace internal {
// What every exporter's calls hold besides their transport state.
struct CallBase {
  RequestInfo request;
  size_t bytes = 0;       // Before compression.
  size_t wire_bytes = 0;  // As sent: after compression, before transport framing.
  int64_t first_started_ns = 0;
  int attempt = 0;
};
}  // namespace internal

// A request's final outcome, counted the same way by every exporter: one count per
// request however many attempts it took. `response` is an Export*ServiceResponse
// (partial success); refusals call options.on_rejected.
class OutcomeCounter {
 public:
  OutcomeCounter(const ExporterOptions& options, Signal signal, RunStats* stats)
      : options_(options), signal_(signal), stats_(stats) {}
  void Accepted(const internal::CallBase& call, std::string_view response);
  void Rejected(const internal::CallBase& call, const std::string& kind,
                const std::string& message);
  void Failed(const internal::CallBase& call, const std::string& kind, const std::string& message);
  // An attempt that will be retried: counted, and its cause reported once per kind.
  void Retried(const std::string& kind, const std::string& message);

 private:
  void Completed(const internal::CallBase& call);
  const ExporterOptions& options_;
  Signal signal_;
  RunStats* stats_;
};

// What every exporter keeps per worker: the calls outstanding, on the wire or waiting
// for a retry (all count against max_in_flight, so memory stays bounded however slow
// the backend is), and the retry queue, soonest first. `Derived` provides
// StartAttempt(Call*), Pump(wait_until_ns) (start due retries with StartDueRetries,
// then handle completions, waiting up to wait_until_ns: 0 none, kForever unbounded)
// and Release(Call*) (give back what the call held); `Call` derives from CallBase.
// For sending it provides Buffer(n) (the transport's buffer for the next request's n
// bytes as sent) and Start(request, raw_bytes) (send what was written there).
template <typename Derived, typename Call>
class CallQueueExporter : public Exporter {
 public:
  static constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

  // Without compression the request is written straight into the transport's buffer.
  // With it, into a scratch buffer that is compressed into the transport's, so the
  // transport never compresses (and a retry never compresses again).
  uint8_t* Prepare(size_t n) override {
    raw_bytes_ = n;
    if (compressor_ == nullptr) return self().Buffer(n);
    if (scratch_size_ < n) {
      scratch_ = std::make_unique_for_overwrite<uint8_t[]>(n);
      scratch_size_ = n;
    }
    return scratch_.get();
  }
  void Send(const RequestInfo& request) override {
    if (compressor_ != nullptr) {
      const size_t bound = compressor_->MaxCompressedSize(raw_bytes_);
      if (packed_size_ < bound) {
        packed_ = std::make_unique_for_overwrite<uint8_t[]>(bound);
        packed_size_ = bound;
      }
      // Compressed into a scratch buffer of the worst-case size, then copied (a
      // seventh of the request, typically) into one of the exact size: what a call
      // holds while in flight is its compressed size.
      const size_t n = compressor_->Compress(scratch_.get(), raw_bytes_, packed_.get());
      std::memcpy(self().Buffer(n), packed_.get(), n);
    }
    self().Start(request, raw_bytes_);
  }

  bool WaitForSlot(int64_t until_ns) override {
    self().Pump(0);
    while (in_flight_ >= options_.max_in_flight) {
      if (SteadyClock().NowNs() >= until_ns) return false;
      self().Pump(until_ns);
    }
    return true;
  }
  void WaitUntil(int64_t until_ns) override {
    while (SteadyClock().NowNs() < until_ns) self().Pump(until_ns);
  }
  void WaitForProgress() override {
    if (in_flight_ > 0) self().Pump(kForever);
  }
  void Drain(bool abandon_retries) override {
    while (in_flight_ > 0) {
      if (abandon_retries) {
        for (auto& [due, call] : retries_) {
          outcomes_.Failed(*call, "stopped before retry",
                           "the run stopped while the request waited for a retry");
          Finish(call, /*answered=*/false);
        }
        retries_.clear();
        if (in_flight_ == 0) break;
      }
      self().Pump(kForever);
    }
  }

 protected:
  CallQueueExporter(const ExporterOptions& options, Signal signal, RunStats* stats)
      : options_(options), signal_(signal), stats_(stats), outcomes_(options_, signal, stats) {
    if (options.compression != Compression::kNone) {
      compressor_ = std::make_unique<Compressor>(options.compression, options.compression_level);
    }
  }

  // A new call takes a slot; Finish frees the call and its slot, and tells the
  // listener. A request the receiver answered has its latency from the intended time
  // recorded (one abandoned at a stop has none).
  void Begin(Call* call, const RequestInfo& request) {
    call->request = request;
    call->first_started_ns = SteadyClock().NowNs();
    ++in_flight_;
    stats_->AddInFlight(1);
  }
  void Finish(Call* call, bool answered = true) {
    if (answered) {
      stats_->of(signal_).intended_latency.Record(SteadyClock().NowNs() -
                                                  call->request.intended_ns);
    }
    const uint64_t tag = call->request.tag;
    self().Release(call);
    delete call;
    --in_flight_;
    stats_->AddInFlight(-1);
    if (listener_ != nullptr) listener_->RequestDone(tag);
  }
  void RetryAt(int64_t due_ns, Call* call) {
    retries_.emplace_back(due_ns, call);
    std::push_heap(retries_.begin(), retries_.end(), std::greater<>());
  }
  void StartDueRetries(int64_t now_ns) {
    while (!retries_.empty() && retries_.front().first <= now_ns) {
      std::pop_heap(retries_.begin(), retries_.end(), std::greater<>());
      Call* call = retries_.back().second;
      retries_.pop_back();
      self().StartAttempt(call);
    }
  }
  // Counts a gRPC attempt's outcome, or schedules its retry, as the OTLP spec says:
  // retryable codes only (RESOURCE_EXHAUSTED only with RetryInfo), after the server's
  // RetryInfo delay or the policy's backoff, within the retry budget. `answered` is
  // false when no status came from the server (a transport failure, as UNAVAILABLE);
  // `details` is the status's serialized google.rpc.Status; `response` the Export
  // response's bytes. Finishes the call unless it is retried.
  void CompleteGrpc(Call* call, grpc::StatusCode code, bool answered, const std::string& message,
                    std::string_view details, std::string_view response, Rng* rng) {
    const int64_t now = SteadyClock().NowNs();
    const int64_t server_delay = otlp::RetryDelayNs(details);
    const bool retryable = otlp::IsRetryable(code, server_delay >= 0);
    const std::string kind(otlp::StatusCodeName(code));
    if (code != grpc::OK && retryable && options_.retry.enabled) {
      const int64_t delay = RetryBackoffNs(options_.retry, call->attempt, server_delay, rng);
      if (now + delay - call->first_started_ns <= options_.retry.max_elapsed_time.count()) {
        // Retried causes are reported too (once per kind), not only final failures.
        outcomes_.Retried(kind, message);
        RetryAt(now + delay, call);
        return;
      }
    }
    if (code == grpc::OK) {
      outcomes_.Accepted(*call, response);
    } else if (answered && !retryable) {
      // The receiver refused the request itself; resending it would not help.
      outcomes_.Rejected(*call, kind, message);
    } else {
      outcomes_.Failed(*call, kind, message);
    }
    Finish(call);
  }

  // How long Pump may wait: until `wait_until_ns` or the soonest retry.
  int64_t WaitLimit(int64_t wait_until_ns) const {
    return retries_.empty() ? wait_until_ns : std::min(wait_until_ns, retries_.front().first);
  }

  ExporterOptions options_;
  Signal signal_;
  RunStats* stats_;
  OutcomeCounter outcomes_;
  int in_flight_ = 0;

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  std::vector<std::pair<int64_t, Call*>> retries_;
  std::unique_ptr<Compressor> compressor_;  // Null without compression.
  size_t raw_bytes_ = 0;                    // Of the request being prepared.
  std::unique_ptr<uint8_t[]> scratch_, packed_;
  size_t scratch_size_ = 0, packed_size_ = 0;
};

}  // namespace loadgen

#include "sender/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <memory>
#include <optional>
#include <thread>

#include "common/clock.h"

namespace loadgen {

std::array<int, 3> SplitWorkers(int total, const std::array<uint64_t, 3>& events,
                                const std::array<size_t, 3>& units) {
  std::array<int, 3> out{};
  uint64_t sum = 0;
  int active = 0;
  for (int i = 0; i < 3; ++i) {
    if (events[i] > 0 && units[i] > 0) {
      sum += events[i];
      ++active;
    }
  }
  if (active == 0) return out;
  total = std::max(total, active);
  std::array<double, 3> remainder{};
  int given = 0;
  for (int i = 0; i < 3; ++i) {
    if (events[i] == 0 || units[i] == 0) continue;
    const double share = static_cast<double>(total) * events[i] / sum;
    out[i] = std::max(1, static_cast<int>(share));
    remainder[i] = share - static_cast<int>(share);
    given += out[i];
  }
  while (given < total) {  // Largest remainder gets the next worker.
    int best = -1;
    for (int i = 0; i < 3; ++i) {
      if (out[i] == 0 || static_cast<size_t>(out[i]) >= units[i]) continue;
      if (best < 0 || remainder[i] > remainder[best]) best = i;
    }
    if (best < 0) break;
    ++out[best];
    remainder[best] = -1;
    ++given;
  }
  while (given > total) {  // Minimums overshot: take from the largest pool.
    int* largest = &*std::max_element(out.begin(), out.end());
    if (*largest <= 1) break;
    --*largest;
    --given;
  }
  for (int i = 0; i < 3; ++i) out[i] = std::min<int>(out[i], static_cast<int>(units[i]));
  return out;
}

uint64_t RequestEventBudget(const TokenBucket* bucket, std::chrono::nanoseconds pacing_interval,
                            uint64_t max_events) {
  if (bucket == nullptr) return max_events;
  const double per_interval =
      bucket->TargetRate() * static_cast<double>(pacing_interval.count()) / 1e9;
  if (!(per_interval >= 1)) return 1;
  return std::min<uint64_t>(max_events, static_cast<uint64_t>(per_interval));
}

namespace {

// A metric worker's record of which of its units are in an outstanding request.
class SeriesGate final : public RequestListener {
 public:
  explicit SeriesGate(uint32_t begin, uint32_t end) : begin_(begin), busy_(end - begin, 0) {}
  static uint64_t Tag(const RequestCut& cut) { return uint64_t{cut.begin} << 32 | cut.end; }
  bool Busy(const RequestCut& cut) const {
    for (uint32_t u = cut.begin; u < cut.end; ++u) {
      if (busy_[u - begin_]) return true;
    }
    return false;
  }
  void Hold(const RequestCut& cut) { Set(cut.begin, cut.end, 1); }
  void RequestDone(uint64_t tag) override {
    Set(static_cast<uint32_t>(tag >> 32), static_cast<uint32_t>(tag), 0);
  }

 private:
  void Set(uint32_t begin, uint32_t end, uint8_t v) {
    std::fill(busy_.begin() + (begin - begin_), busy_.begin() + (end - begin_), v);
  }
  uint32_t begin_;
  std::vector<uint8_t> busy_;
};

// Handles completions until `until_ns`, in slices so that a stop is noticed within
// 50 ms; false when stopped.
bool WaitUntilOrStop(Exporter& exporter, int64_t until_ns, StopSignal* stop, const Clock& clock) {
  for (int64_t now = clock.NowNs(); now < until_ns; now = clock.NowNs()) {
    if (stop->stopped()) return false;
    exporter.WaitUntil(std::min(until_ns, now + 50'000'000));
  }
  return !stop->stopped();
}

// Waits for a free call slot in slices, so that a stop or the deadline is noticed
// within 50 ms even while every slot is held by a request waiting for a retry; false
// when stopped or past the deadline.
bool WaitForSlotOrStop(Exporter& exporter, int64_t deadline_ns, StopSignal* stop,
                       const Clock& clock) {
  while (true) {
    if (stop->stopped()) return false;
    const int64_t now = clock.NowNs();
    if (deadline_ns != 0 && now >= deadline_ns) return false;
    int64_t slice = now + 50'000'000;
    if (deadline_ns != 0) slice = std::min(slice, deadline_ns);
    if (exporter.WaitForSlot(slice)) return !stop->stopped();
  }
}

// Detaches a gate from its exporter when the loop ends.
struct GateAttachment {
  GateAttachment(Exporter& e, SeriesGate* g) : exporter(e) { exporter.SetListener(g); }
  ~GateAttachment() { exporter.SetListener(nullptr); }
  Exporter& exporter;
};

bool SendLoopWithGate(const WorkerShare& w, const PoolOptions& pool, Exporter& exporter,
                      RequestBuilder& builder, TokenBucket* bucket, SeriesGate* gate,
                      RunStats* stats, StopSignal* stop, int64_t deadline_ns, const Clock& clock,
                      TraceLinks* links, LateRootGate* late_roots) {
  const uint64_t max_events = pool.max_events[SignalIndex(w.signal)];
  const int64_t pacing_ns = pool.pacing_interval.count();
  // When each unit was last sent: the start of its next delta window (metrics).
  std::vector<uint64_t> last_sent(gate != nullptr ? w.end : 0, pool.series_start_ns);
  const auto step = static_cast<uint64_t>(pool.instances);
  uint64_t passes = 0;  // Over the whole share.
  const uint64_t replicas = gate != nullptr ? pool.fanout.replicas : 1;
  for (uint64_t replay = static_cast<uint64_t>(pool.instance);
       pool.multiplier == 0 || replay < pool.multiplier; replay += step) {
    const uint32_t end = replicas > 1 && replay % replicas == replicas - 1
                             ? std::min(w.end, w.last_pass_end)
                             : w.end;
    for (uint32_t u = w.begin; u < end;) {
      if (!WaitForSlotOrStop(exporter, deadline_ns, stop, clock)) return false;
      const RequestCut& cut =
          builder.Cut(u, end, RequestEventBudget(bucket, pool.pacing_interval, max_events),
                      pool.max_request_bytes);
      while (gate != nullptr && gate->Busy(cut)) {
        if (stop->stopped()) return false;
        exporter.WaitForProgress();
      }
      int64_t intended = clock.NowNs();
      if (bucket != nullptr) {
        // Wait for the tokens while handling completions.
        const Reservation r = bucket->Reserve(cut.events);
        if (r.send_at_ns == RateSchedule::kForever ||
            (deadline_ns != 0 && r.send_at_ns >= deadline_ns)) {
          // The run ends here; it lasts its duration, answering calls until then.
          if (deadline_ns != 0) WaitUntilOrStop(exporter, deadline_ns, stop, clock);
          return false;
        }
        if (!WaitUntilOrStop(exporter, r.send_at_ns, stop, clock)) return false;
        intended = r.intended_ns;
      }
      const int64_t sent_at = clock.NowNs();
      if (deadline_ns != 0 && sent_at >= deadline_ns) return false;
      if (bucket != nullptr)
        stats->NoteLag(w.signal, sent_at - intended, sent_at - intended > pacing_ns);
      const uint64_t now = WallNowNs();
      builder.Write(replay, now, last_sent.data(), exporter.Prepare(cut.bytes));
      if (gate != nullptr) {
        std::fill(last_sent.begin() + cut.begin, last_sent.begin() + cut.end, now);
        gate->Hold(cut);
      }
      uint64_t tag = SeriesGate::Tag(cut);
      if (late_roots != nullptr) {
        tag = late_roots->NextTag();
        if (late_roots->Holds(cut.begin, cut.end)) {
          late_roots->Sent(tag, cut.begin, cut.end, replay, now);
        }
      }
      exporter.Send({cut.events, tag, intended});
      if (links != nullptr) links->Built(w.index, passes, cut.end - w.begin);
      u = cut.end;
      if (late_roots != nullptr && !late_roots->Flush(exporter, stats, stop, deadline_ns)) {
        return false;
      }
    }
    ++passes;
  }
  return true;
}

}  // namespace

bool SendLoop(const WorkerShare& share, const PoolOptions& pool, Exporter& exporter,
              RequestBuilder& builder, TokenBucket* bucket, RunStats* stats, StopSignal* stop,
              int64_t deadline_ns, const Clock& clock, TraceLinks* links,
              LateRootGate* late_roots) {
  if (share.signal != Signal::kMetrics) {
    const bool traces = share.signal == Signal::kTraces;
    return SendLoopWithGate(share, pool, exporter, builder, bucket, nullptr, stats, stop,
                            deadline_ns, clock, traces ? links : nullptr,
                            traces ? late_roots : nullptr);
  }
  // The gate outlives the loop only while the exporter still holds its requests: Drain
  // answers them after the loop, with no gate left to tell.
  SeriesGate gate(share.begin, share.end);
  GateAttachment attached(exporter, &gate);
  return SendLoopWithGate(share, pool, exporter, builder, bucket, &gate, stats, stop, deadline_ns,
                          clock, nullptr, nullptr);
}

std::vector<WorkerShare> ShareWork(const LoadedDataset& dataset, int workers,
                                   const SeriesFanout& fanout) {
  std::array<size_t, 3> unit_counts{};
  for (int i = 0; i < 3; ++i) unit_counts[i] = dataset.signals[i].unit_count();
  const std::array<int, 3> split = SplitWorkers(workers, dataset.events, unit_counts);
  std::vector<WorkerShare> out;
  for (Signal signal : kAllSignals) {
    const int n = split[SignalIndex(signal)];
    const CompiledSignal& data = dataset.of(signal);
    const auto units = static_cast<uint64_t>(data.unit_count());
    for (int w = 0; w < n; ++w) {
      WorkerShare share{signal, static_cast<uint32_t>(units * w / n),
                        static_cast<uint32_t>(units * (w + 1) / n), static_cast<size_t>(w)};
      if (signal == Signal::kMetrics && fanout.replicas > 1 && fanout.last_pass < 1) {
        uint64_t points = 0, covered = 0;
        for (uint32_t u = share.begin; u < share.end; ++u) points += data.unit(u).events;
        // At least the share, so that no series' replicas come round faster than the
        // interval.
        const double wanted = fanout.last_pass * static_cast<double>(points);
        share.last_pass_end = share.begin;
        while (share.last_pass_end < share.end && static_cast<double>(covered) < wanted) {
          covered += data.unit(share.last_pass_end++).events;
        }
      }
      out.push_back(share);
    }
  }
  return out;
}

PoolResult RunWorkerPool(const LoadedDataset& dataset, const PoolOptions& pool,
                         const ExporterOptions& exporter_options, RateLimiter* limiter,
                         RunStats* stats, StopSignal* stop, const std::function<void()>& on_start) {
  const IdMapper ids(pool.run_key, pool.instances > 1 ? pool.instance : -1);
  struct Worker {
    WorkerShare share;
    uint64_t seed;
  };
  std::vector<Worker> workers;
  uint64_t worker_seed = pool.run_key;
  for (const WorkerShare& share : ShareWork(dataset, pool.workers, pool.fanout)) {
    workers.push_back({share, SplitMix64(&worker_seed)});
  }
  // Trace context in metrics and logs names spans this run sends, when it sends traces.
  std::unique_ptr<TraceLinks> links;
  std::vector<std::pair<uint32_t, uint32_t>> shares;
  for (const Worker& w : workers) {
    if (w.share.signal == Signal::kTraces) shares.emplace_back(w.share.begin, w.share.end);
  }
  if (!shares.empty()) {
    links = std::make_unique<TraceLinks>(dataset.of(Signal::kTraces), shares,
                                         static_cast<uint64_t>(pool.instance),
                                         static_cast<uint64_t>(pool.instances));
  }
  // Late roots: queued by the trace workers, sent by one more thread when due.
  const LateRoots& late = dataset.late_roots;
  std::unique_ptr<DeferredQueue> deferred;
  if (!late.empty() && !shares.empty()) {
    deferred = std::make_unique<DeferredQueue>(pool.deferred_max_pending);
  }
  std::atomic<size_t> trace_workers_left{shares.size()};
  // The schedule's time 0 and the deadline are the same moment: when the last worker
  // has its exporter and builder ready. Starting the clock before would count worker
  // start-up (channels, buffers; seconds under a sanitizer) as lag, and a short run
  // could end before its first request.
  const SteadyClock clock;
  int64_t deadline_ns = 0;
  auto start = [&]() noexcept {
    if (limiter != nullptr) limiter->Start();
    deadline_ns = pool.duration.count() > 0 ? clock.NowNs() + pool.duration.count() : 0;
    if (limiter != nullptr && deadline_ns != 0) limiter->EndAt(deadline_ns);
    if (on_start) on_start();
  };
  if (workers.empty()) start();
  std::barrier ready(static_cast<std::ptrdiff_t>(workers.size() + (deferred != nullptr ? 1 : 0)),
                     start);

  std::vector<std::thread> threads;
  std::atomic<int> unfinished{0};
  std::atomic<int64_t> final_lag{0};
  for (const Worker& w : workers) {
    threads.emplace_back([&, w] {
      const CompiledSignal& signal = dataset.of(w.share.signal);
      const std::unique_ptr<Exporter> exporter =
          MakeExporter(exporter_options, w.share.signal, stats);
      RequestBuilder builder(signal, ids, pool.timestamps, w.seed, pool.series_start_ns,
                             w.share.signal == Signal::kMetrics ? pool.fanout : SeriesFanout{},
                             w.share.signal != Signal::kTraces ? links.get() : nullptr);
      TokenBucket* bucket = limiter != nullptr ? limiter->of(w.share.signal) : nullptr;
      // A trace worker's late roots go to the queue as the requests of their traces are
      // done, also while it drains.
      std::optional<LateRootGate> late_gate;
      if (deferred != nullptr && w.share.signal == Signal::kTraces) {
        late_gate.emplace(late, deferred.get(), clock);
        exporter->SetListener(&*late_gate);
      }
      ready.arrive_and_wait();
      if (!SendLoop(w.share, pool, *exporter, builder, bucket, stats, stop, deadline_ns, clock,
                    links.get(), late_gate ? &*late_gate : nullptr)) {
        ++unfinished;
      }
      if (bucket != nullptr) {
        const int64_t lag =
            bucket->LagNs(std::min(clock.NowNs(), deadline_ns != 0 ? deadline_ns : INT64_MAX));
        int64_t seen = final_lag.load();
        while (lag > seen && !final_lag.compare_exchange_weak(seen, lag)) {
        }
        // Events never sent count as late as those sent late: the worst lag is at
        // least the lag the run ended with.
        stats->NoteLag(w.share.signal, lag, /*late=*/false);
      }
      // On a stop or at the deadline, requests waiting for a retry are given up (and
      // counted as failed), so that the run ends on time: bounded by the request
      // timeout, not the retry budget. A run bound by its replays waits for them.
      exporter->Drain(/*abandon_retries=*/stop->stopped() ||
                      (deadline_ns != 0 && clock.NowNs() >= deadline_ns));
      if (late_gate) {
        // The late sender keeps taking roots, so this wait ends.
        late_gate->Flush(*exporter, stats, nullptr, 0);
        exporter->SetListener(nullptr);
        if (--trace_workers_left == 0) deferred->Close();
      }
    });
  }
  LateRootResult late_result;
  if (deferred != nullptr) {
    threads.emplace_back([&, seed = SplitMix64(&worker_seed)] {
      const std::unique_ptr<Exporter> exporter =
          MakeExporter(exporter_options, Signal::kTraces, stats);
      RequestBuilder builder(late.roots, ids, pool.timestamps, seed, pool.series_start_ns);
      TokenBucket* bucket = limiter != nullptr ? limiter->of(Signal::kTraces) : nullptr;
      ready.arrive_and_wait();
      late_result =
          SendLateRoots(deferred.get(), builder, *exporter, bucket, pool.pacing_interval,
                        pool.max_events[SignalIndex(Signal::kTraces)], pool.max_request_bytes,
                        pool.deferred_drain_timeout, stats, stop, deadline_ns, clock);
    });
  }
  for (auto& t : threads) t.join();
  return {static_cast<int>(workers.size()), unfinished.load() == 0, final_lag.load(), late_result};
}

}  // namespace loadgen

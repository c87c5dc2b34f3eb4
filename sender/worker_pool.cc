#include "sender/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/clock.h"

namespace loadgen {

std::array<int, 3> SplitWorkers(int total, const std::array<uint64_t, 3>& events,
                                const std::array<size_t, 3>& frames) {
  std::array<int, 3> out{};
  uint64_t sum = 0;
  int active = 0;
  for (int i = 0; i < 3; ++i) {
    if (events[i] > 0 && frames[i] > 0) {
      sum += events[i];
      ++active;
    }
  }
  if (active == 0) return out;
  total = std::max(total, active);
  std::array<double, 3> remainder{};
  int given = 0;
  for (int i = 0; i < 3; ++i) {
    if (events[i] == 0 || frames[i] == 0) continue;
    const double share = static_cast<double>(total) * events[i] / sum;
    out[i] = std::max(1, static_cast<int>(share));
    remainder[i] = share - static_cast<int>(share);
    given += out[i];
  }
  while (given < total) {  // Largest remainder gets the next worker.
    int best = -1;
    for (int i = 0; i < 3; ++i) {
      if (out[i] == 0 || static_cast<size_t>(out[i]) >= frames[i]) continue;
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
  for (int i = 0; i < 3; ++i) out[i] = std::min<int>(out[i], static_cast<int>(frames[i]));
  return out;
}

namespace {

// Returns true when every replay was sent (not cut short by a stop, the deadline or
// the end of the schedule).
bool SendLoop(const std::vector<const CompiledFrame*>& frames, const PoolOptions& pool,
              Exporter& exporter, FramePatcher& patcher, TokenBucket* limiter, StopSignal* stop,
              int64_t deadline_ns) {
  const SteadyClock clock;
  // When each frame was last sent: the start of its next delta window.
  std::vector<uint64_t> last_sent(frames.size(), pool.series_start_ns);
  const auto step = static_cast<uint64_t>(pool.instances);
  for (uint64_t replay = static_cast<uint64_t>(pool.instance);
       pool.multiplier == 0 || replay < pool.multiplier; replay += step) {
    for (size_t i = 0; i < frames.size(); ++i) {
      const CompiledFrame& frame = *frames[i];
      exporter.WaitForSlot();
      if (stop->stopped()) return false;
      if (limiter != nullptr) {
        // Wait for the tokens while handling completions, in slices so a stop is
        // noticed within 50 ms.
        const int64_t at = limiter->Reserve(frame.events);
        if (at == RateSchedule::kForever || (deadline_ns != 0 && at >= deadline_ns)) return false;
        for (int64_t now = clock.NowNs(); now < at; now = clock.NowNs()) {
          if (stop->stopped()) return false;
          exporter.WaitUntil(std::min(at, now + 50'000'000));
        }
        if (stop->stopped()) return false;
      }
      if (deadline_ns != 0 && clock.NowNs() >= deadline_ns) return false;
      const uint64_t now = WallNowNs();
      patcher.Patch(frame, replay, now, last_sent[i], exporter.Prepare(frame.bytes.size()));
      last_sent[i] = now;
      exporter.Send(frame.events);
    }
  }
  return true;
}

}  // namespace

PoolResult RunWorkerPool(const LoadedDataset& dataset, const PoolOptions& pool,
                         const ExporterOptions& exporter_options, const RateLimiter* limiter,
                         RunStats* stats, StopSignal* stop) {
  std::array<size_t, 3> frame_counts{};
  for (int i = 0; i < 3; ++i) frame_counts[i] = dataset.frames[i].size();
  const std::array<int, 3> split = SplitWorkers(pool.workers, dataset.events, frame_counts);
  const IdMapper ids(pool.run_key, pool.instances > 1 ? pool.instance : -1);
  const int64_t deadline_ns =
      pool.duration.count() > 0 ? SteadyClock().NowNs() + pool.duration.count() : 0;

  std::vector<std::thread> threads;
  std::atomic<int> unfinished{0};
  uint64_t worker_seed = pool.run_key;
  for (Signal signal : kAllSignals) {
    const auto& frames = dataset.of(signal);
    const int n = split[SignalIndex(signal)];
    for (int w = 0; w < n; ++w) {
      // Interleaved shares: worker w sends frames w, w+n, w+2n, ...
      std::vector<const CompiledFrame*> share;
      for (size_t f = w; f < frames.size(); f += n) share.push_back(&frames[f]);
      const uint64_t seed = SplitMix64(&worker_seed);
      threads.emplace_back([=, &pool, &exporter_options, &ids, &unfinished] {
        const std::unique_ptr<Exporter> exporter = MakeExporter(exporter_options, signal, stats);
        FramePatcher patcher(ids, pool.timestamps, seed, pool.series_start_ns);
        TokenBucket* bucket = limiter != nullptr ? limiter->of(signal) : nullptr;
        if (!SendLoop(share, pool, *exporter, patcher, bucket, stop, deadline_ns)) ++unfinished;
        // On a stop, requests waiting for a retry are given up (and counted as failed)
        // so that shutdown is bounded by the request timeout, not the retry budget.
        exporter->Drain(/*abandon_retries=*/stop->stopped());
      });
    }
  }
  for (auto& t : threads) t.join();
  return {static_cast<int>(threads.size()), unfinished.load() == 0};
}

}  // namespace loadgen

// Work split into numbered units, made on several threads and used in order. Each
// unit is a pure function of its number (its own random stream, its own output), so
// the result in order is the same whatever the number of threads: that is what keeps
// a dataset byte-identical for a seed at any --threads. At most `window` units are
// made ahead of the one being used, so memory is a few units, never the dataset.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace loadgen {

// Calls make(unit, scratch) for units [0, count) on `threads` threads (each with its
// own Scratch, default-constructed) and use(unit, result) on the calling thread in unit
// order. Stops at the first error `use` returns (units being made are finished and
// dropped) and returns it. With threads <= 1 everything runs on the calling thread.
template <typename Result, typename Scratch>
absl::Status RunOrderedUnits(int64_t count, int threads,
                             const std::function<Result(int64_t, Scratch&)>& make,
                             const std::function<absl::Status(int64_t, Result&)>& use) {
  if (threads <= 1 || count <= 1) {
    Scratch scratch;
    for (int64_t u = 0; u < count; ++u) {
      Result r = make(u, scratch);
      if (absl::Status s = use(u, r); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  const int64_t window = 2 * static_cast<int64_t>(threads);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Result>> slots(static_cast<size_t>(window));
  int64_t next = 0;  // The next unit to make.
  int64_t used = 0;  // Units used so far.
  bool stop = false;
  auto worker = [&] {
    Scratch scratch;
    while (true) {
      int64_t u;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next >= count || next < used + window; });
        if (stop || next >= count) return;
        u = next++;
      }
      Result r = make(u, scratch);
      std::lock_guard<std::mutex> lock(mu);
      slots[static_cast<size_t>(u % window)] = std::move(r);
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  absl::Status status;
  for (int64_t u = 0; u < count && status.ok(); ++u) {
    std::optional<Result> r;
    {
      std::unique_lock<std::mutex> lock(mu);
      auto& slot = slots[static_cast<size_t>(u % window)];
      cv.wait(lock, [&] { return slot.has_value(); });
      r = std::move(slot);
      slot.reset();
    }
    status = use(u, *r);
    std::lock_guard<std::mutex> lock(mu);
    ++used;
    if (!status.ok()) stop = true;
    cv.notify_all();
  }
  for (std::thread& t : pool) t.join();
  return status;
}

}  // namespace loadgen

// Time sources. Rate control runs on a monotonic clock; timestamps written into
// telemetry come from the wall clock. Tests substitute FakeClock to check rate
// arithmetic exactly, without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace loadgen {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds; only differences are meaningful.
  virtual int64_t NowNs() const = 0;
};

class SteadyClock final : public Clock {
 public:
  int64_t NowNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ns = 0) : now_(start_ns) {}
  int64_t NowNs() const override { return now_.load(); }
  void Set(int64_t ns) { now_.store(ns); }
  void Advance(int64_t ns) { now_.fetch_add(ns); }

 private:
  std::atomic<int64_t> now_;
};

// Unix time in nanoseconds, for the timestamps sent to a backend.
inline uint64_t WallNowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace loadgen

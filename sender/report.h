// What the sender tells its user: a line per stats interval while running (a single
// refreshed status line when stdout is a terminal), and the final summary as text and
// as JSON. Reads RunStats only; never sees header values or other secrets.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "sender/stats.h"

namespace loadgen {

struct RunInfo {
  std::string endpoint;  // The gRPC target (host:port), never credentials.
  double target_rate = 0;
  int64_t elapsed_ns = 0;
  std::string stop_reason;
  int64_t in_flight_limit = 0;  // Workers x max_in_flight.
  int64_t peak_rss_bytes = 0;
};

class StatsReporter {
 public:
  StatsReporter(const RunStats& stats, std::chrono::nanoseconds interval, std::FILE* out);
  ~StatsReporter();
  void Start();
  void Stop();

 private:
  void Loop();
  const RunStats& stats_;
  std::chrono::nanoseconds interval_;
  std::FILE* out_;
  bool tty_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

std::string SummaryText(const RunStats& stats, const RunInfo& info);
std::string SummaryJson(const RunStats& stats, const RunInfo& info);

}  // namespace loadgen

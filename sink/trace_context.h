// What a backend that links signals finds across requests: whether the spans that
// metric exemplars and log records name arrived, as a jump from a metric or a log line
// to its trace needs. Requests of different signals race, so a reference counts as
// resolved when its span arrived before it or arrives later; it counts as unresolved
// when Settle() is called (the sink stops) with its span still missing, or when more
// than `max_pending` references wait at once (the oldest gives way).
//
// Memory is bounded: the keys of the last `span_capacity` spans (at most 24 bytes
// each), and the waiting references (about 48 bytes each). A reference to a span older
// than the last span_capacity spans counts as unresolved. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "sink/validate.h"

namespace loadgen {

// The keys of the last `capacity` distinct spans added: an open-addressing table in
// insertion order, the oldest dropped first.
class RecentKeys {
 public:
  explicit RecentKeys(size_t capacity);
  // False when `key` is already held (it is not added again).
  bool Add(uint64_t key);
  bool Contains(uint64_t key) const;
  size_t size() const { return count_; }

 private:
  size_t Home(uint64_t key) const;
  void Erase(uint64_t key);
  void Grow();
  size_t capacity_;
  std::vector<uint64_t> order_;  // A ring of the held keys, oldest at next_ once full.
  size_t next_ = 0, count_ = 0;
  std::vector<uint64_t> table_;  // 0 is empty; a key of 0 is held as 1.
};

class TraceContextChecker {
 public:
  struct Counts {
    uint64_t named = 0;       // References seen.
    uint64_t resolved = 0;    // Their span arrived.
    uint64_t unresolved = 0;  // Settled without it.
    uint64_t pending = 0;     // Still waiting.
  };

  explicit TraceContextChecker(size_t span_capacity = kDefaultSpans, size_t max_pending = 1 << 20);
  static constexpr size_t kDefaultSpans = 4 << 20;

  // The spans of a request, then its references. Returns how many references (of
  // exemplars, of log records) became unresolved by this call.
  std::pair<uint64_t, uint64_t> Note(const SpanLinks& links);
  // Every reference still waiting becomes unresolved; returns how many, as Note.
  std::pair<uint64_t, uint64_t> Settle();

  Counts exemplars() const { return counts_[0]; }
  Counts logs() const { return counts_[1]; }

 private:
  struct Waiting {
    uint64_t count[2] = {0, 0};  // References from exemplars, from log records.
    uint64_t last = 0;           // Sequence number of the newest.
  };
  void Refer(uint64_t key, int kind, std::pair<uint64_t, uint64_t>* lost);
  void Unresolve(Waiting& w, std::pair<uint64_t, uint64_t>* lost);
  RecentKeys spans_;
  size_t max_pending_;
  std::unordered_map<uint64_t, Waiting> waiting_;
  std::deque<std::pair<uint64_t, uint64_t>> order_;  // (key, sequence), oldest first.
  uint64_t sequence_ = 0;
  Counts counts_[2];
};

}  // namespace loadgen

// Late roots (LateRoots in loader.h) on their way: once a trace worker's request holding
// the rest of some traces is done, it queues their roots, due `delay` after, with the replay
// and the wall time the traces were built with; one late-root sender sends each when
// it is due, through its own exporter, taking tokens from the traces' bucket, so the
// rate stays exact. Built with the same replay and wall time, a root gets its trace's
// new trace ID, its children's parent span ID and its trace's time base.
//
// The queue is bounded: a trace worker waits for room (answering its calls meanwhile),
// so memory stays bounded at any rate and no root is dropped while the run goes on.
// When the trace workers are done, the sender drains the queue: roots due within
// drain_timeout are sent when due, the others counted as failed.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "sender/exporter.h"
#include "sender/loader.h"
#include "sender/stats.h"
#include "sender/stop_signal.h"
#include "sender/token_bucket.h"
#include "sender/transform.h"

namespace loadgen {

// Roots [begin, end) of LateRoots::roots, due at `due_ns` (steady clock).
struct DeferredSend {
  int64_t due_ns = 0;
  uint64_t wall_ns = 0;  // The wall time their traces were built with.
  uint64_t replay = 0;
  uint32_t begin = 0, end = 0;
  uint64_t roots() const { return end - begin; }
};

// The sends waiting for their time, earliest first, holding at most `max_pending`
// roots (an empty queue takes any send). Thread-safe.
class DeferredQueue {
 public:
  explicit DeferredQueue(uint64_t max_pending) : max_pending_(max_pending) {}
  // Queues `send`; false when it would pass max_pending.
  bool TryPush(const DeferredSend& send);
  // Takes the earliest send if it is due by `now_ns`.
  bool PopDue(int64_t now_ns, DeferredSend* out);
  // Takes every send left; returns how many roots they held.
  uint64_t TakeAll();
  // When the earliest send is due; RateSchedule::kForever when none waits.
  int64_t next_due_ns() const;
  uint64_t pending() const;
  uint64_t peak_pending() const;
  // No more sends will come (the trace workers are done).
  void Close();
  bool closed() const;

 private:
  struct Later {
    bool operator()(const DeferredSend& a, const DeferredSend& b) const {
      return a.due_ns > b.due_ns;
    }
  };
  const uint64_t max_pending_;
  mutable Mutex mu_;
  std::priority_queue<DeferredSend, std::vector<DeferredSend>, Later> sends_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t peak_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// A trace worker's late roots on their way to the queue (the worker's exporter
// listener): the roots of the traces in a request are due `delay` after that request
// is done (answered, or given up), so a root never reaches the receiver before the rest
// of its trace, however long that took. Used by the worker's thread only.
class LateRootGate final : public RequestListener {
 public:
  LateRootGate(const LateRoots& late, DeferredQueue* queue, const Clock& clock)
      : late_(late), queue_(queue), clock_(clock) {}
  // Whether trace units [begin, end) have late roots.
  bool Holds(uint32_t begin, uint32_t end) const {
    return late_.first_of_unit[begin] != late_.first_of_unit[end];
  }
  // A tag for the next request (unique among the worker's requests).
  uint64_t NextTag() { return ++tags_; }
  // The request tagged `tag` holds units [begin, end) of replay `replay`, built at wall
  // time `wall_ns`.
  void Sent(uint64_t tag, uint32_t begin, uint32_t end, uint64_t replay, uint64_t wall_ns);
  void RequestDone(uint64_t tag) override;
  // Queues the roots whose requests are done. While the queue is full it answers the
  // exporter's calls and waits; false when a stop (`stop` may be null: none) or the
  // deadline (0: none) ends the wait, with every root not queued counted as failed.
  bool Flush(Exporter& exporter, RunStats* stats, StopSignal* stop, int64_t deadline_ns);

 private:
  struct Out {
    uint64_t tag;
    DeferredSend send;  // due_ns: not yet known.
  };
  const LateRoots& late_;
  DeferredQueue* queue_;
  const Clock& clock_;
  uint64_t tags_ = 0;
  std::vector<Out> out_;             // Requests on their way, in the order sent.
  std::vector<DeferredSend> ready_;  // Due, not yet queued.
};

struct LateRootResult {
  uint64_t sent = 0;          // Roots sent.
  uint64_t failed = 0;        // Roots still waiting when drain_timeout passed.
  int64_t drain_ns = 0;       // How long it sent after the trace workers were done.
  uint64_t peak_pending = 0;  // The most roots that waited at once.
};

// The late-root sender: sends the queue's roots as they come due, paced by `bucket`
// (the traces'; may be null) while its schedule runs, until the queue is closed and
// drained (see above). `builder` is over LateRoots::roots. Blocks the caller.
LateRootResult SendLateRoots(DeferredQueue* queue, RequestBuilder& builder, Exporter& exporter,
                             TokenBucket* bucket, std::chrono::nanoseconds pacing_interval,
                             uint64_t max_events, size_t max_request_bytes,
                             std::chrono::nanoseconds drain_timeout, RunStats* stats,
                             StopSignal* stop, int64_t deadline_ns, const Clock& clock);

}  // namespace loadgen

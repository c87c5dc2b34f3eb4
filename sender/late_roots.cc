#include "sender/late_roots.h"

#include <algorithm>

#include "common/strings.h"
#include "sender/worker_pool.h"

namespace loadgen {

bool DeferredQueue::TryPush(const DeferredSend& send) {
  MutexLock lock(&mu_);
  if (pending_ > 0 && pending_ + send.roots() > max_pending_) return false;
  sends_.push(send);
  pending_ += send.roots();
  peak_ = std::max(peak_, pending_);
  return true;
}

bool DeferredQueue::PopDue(int64_t now_ns, DeferredSend* out) {
  MutexLock lock(&mu_);
  if (sends_.empty() || sends_.top().due_ns > now_ns) return false;
  *out = sends_.top();
  sends_.pop();
  pending_ -= out->roots();
  return true;
}

uint64_t DeferredQueue::TakeAll() {
  MutexLock lock(&mu_);
  const uint64_t taken = pending_;
  while (!sends_.empty()) sends_.pop();
  pending_ = 0;
  return taken;
}

int64_t DeferredQueue::next_due_ns() const {
  MutexLock lock(&mu_);
  return sends_.empty() ? RateSchedule::kForever : sends_.top().due_ns;
}

uint64_t DeferredQueue::pending() const {
  MutexLock lock(&mu_);
  return pending_;
}

uint64_t DeferredQueue::peak_pending() const {
  MutexLock lock(&mu_);
  return peak_;
}

void DeferredQueue::Close() {
  MutexLock lock(&mu_);
  closed_ = true;
}

bool DeferredQueue::closed() const {
  MutexLock lock(&mu_);
  return closed_;
}

namespace {

constexpr int64_t kPollNs = 2'000'000;  // How often a waiting side looks again.

// Counts `roots` late roots that were never sent as one failed request of `why`.
void CountFailed(RunStats* stats, uint64_t roots, const std::string& why) {
  if (roots == 0) return;
  SignalCounters& c = stats->of(Signal::kTraces);
  c.requests.fetch_add(1, std::memory_order_relaxed);
  c.events_sent.fetch_add(roots, std::memory_order_relaxed);
  c.events_failed.fetch_add(roots, std::memory_order_relaxed);
  c.failed_requests.fetch_add(1, std::memory_order_relaxed);
  stats->NoteError(Signal::kTraces, "late_roots_not_sent", why);
}

}  // namespace

void LateRootGate::Sent(uint64_t tag, uint32_t begin, uint32_t end, uint64_t replay,
                        uint64_t wall_ns) {
  out_.push_back({tag, {0, wall_ns, replay, late_.first_of_unit[begin], late_.first_of_unit[end]}});
}

void LateRootGate::RequestDone(uint64_t tag) {
  const auto it =
      std::find_if(out_.begin(), out_.end(), [tag](const Out& o) { return o.tag == tag; });
  if (it == out_.end()) return;  // A request without late roots.
  const int64_t now = clock_.NowNs();
  const DeferredSend& s = it->send;
  for (uint32_t a = s.begin; a < s.end;) {
    uint32_t b = a + 1;  // A queued send holds roots of one delay.
    while (b < s.end && late_.delay_ns[b] == late_.delay_ns[a]) ++b;
    ready_.push_back({now + late_.delay_ns[a], s.wall_ns, s.replay, a, b});
    a = b;
  }
  out_.erase(it);
}

bool LateRootGate::Flush(Exporter& exporter, RunStats* stats, StopSignal* stop,
                         int64_t deadline_ns) {
  // By index: waiting answers calls, which may add to ready_.
  for (size_t i = 0; i < ready_.size(); ++i) {
    while (!queue_->TryPush(ready_[i])) {
      const int64_t now = clock_.NowNs();
      if ((stop != nullptr && stop->stopped()) || (deadline_ns != 0 && now >= deadline_ns)) {
        uint64_t left = 0;
        for (size_t j = i; j < ready_.size(); ++j) left += ready_[j].roots();
        for (const Out& o : out_) left += o.send.roots();
        ready_.clear();
        out_.clear();
        CountFailed(stats, left,
                    "the run ended while a trace worker waited for room among the late roots "
                    "(sending.deferred.max_pending)");
        return false;
      }
      exporter.WaitUntil(now + kPollNs);
    }
  }
  ready_.clear();
  return true;
}

LateRootResult SendLateRoots(DeferredQueue* queue, RequestBuilder& builder, Exporter& exporter,
                             TokenBucket* bucket, std::chrono::nanoseconds pacing_interval,
                             uint64_t max_events, size_t max_request_bytes,
                             std::chrono::nanoseconds drain_timeout, RunStats* stats,
                             StopSignal* stop, int64_t deadline_ns, const Clock& clock) {
  LateRootResult result;
  int64_t closed_at = -1;
  std::vector<DeferredSend> due;
  DeferredSend send;
  while (true) {
    const int64_t now = clock.NowNs();
    if (closed_at < 0 && queue->closed()) closed_at = now;
    // While the schedule runs, roots take their tokens like any span, all that are due
    // at once (up to a request's worth), so that they keep up however many trace
    // workers queue them; after it (the drain) they go when due.
    const bool paced =
        bucket != nullptr && !stop->stopped() && (deadline_ns == 0 || now < deadline_ns);
    const uint64_t budget =
        RequestEventBudget(paced ? bucket : nullptr, pacing_interval, max_events);
    due.clear();
    uint64_t roots = 0;
    while (roots < budget && queue->PopDue(now, &send)) {
      due.push_back(send);
      roots += send.roots();
    }
    if (due.empty()) {
      const int64_t next = queue->next_due_ns();
      if (closed_at >= 0) {
        if (next == RateSchedule::kForever) break;
        if (next > closed_at + drain_timeout.count()) {
          result.failed = queue->TakeAll();
          CountFailed(stats, result.failed,
                      StrCat("not due within sending.deferred.drain_timeout (",
                             drain_timeout.count() / 1'000'000,
                             " ms) of the run's end: ", result.failed, " late roots"));
          break;
        }
      }
      exporter.WaitUntil(std::min(next, now + kPollNs));
      continue;
    }
    int64_t intended = now;
    if (paced) {
      const Reservation r = bucket->Reserve(roots);
      if (r.send_at_ns != RateSchedule::kForever &&
          (deadline_ns == 0 || r.send_at_ns < deadline_ns)) {
        for (int64_t t = clock.NowNs(); t < r.send_at_ns && !stop->stopped(); t = clock.NowNs()) {
          exporter.WaitUntil(std::min(r.send_at_ns, t + kPollNs));
        }
        intended = r.intended_ns;
      }
    }
    for (const DeferredSend& d : due) {
      for (uint32_t u = d.begin; u < d.end;) {
        while (!exporter.WaitForSlot(clock.NowNs() + kPollNs)) {
        }
        const RequestCut& cut = builder.Cut(u, d.end, max_events, max_request_bytes);
        builder.Write(d.replay, d.wall_ns, nullptr, exporter.Prepare(cut.bytes));
        exporter.Send({cut.events, 0, std::max(d.due_ns, intended)});
        result.sent += cut.events;
        u = cut.end;
      }
    }
  }
  result.drain_ns = closed_at >= 0 ? clock.NowNs() - closed_at : 0;
  result.peak_pending = queue->peak_pending();
  exporter.Drain(/*abandon_retries=*/stop->stopped());
  return result;
}

}  // namespace loadgen

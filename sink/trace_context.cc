#include "sink/trace_context.h"

#include <algorithm>

namespace loadgen {

RecentKeys::RecentKeys(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
  table_.assign(1024, 0);
}

// Keys are hashes already (SpanKey): their low bits are as good as any.
size_t RecentKeys::Home(uint64_t key) const { return key & (table_.size() - 1); }

bool RecentKeys::Contains(uint64_t key) const {
  if (key == 0) key = 1;
  const size_t mask = table_.size() - 1;
  for (size_t i = Home(key);; i = (i + 1) & mask) {
    if (table_[i] == key) return true;
    if (table_[i] == 0) return false;
  }
}

void RecentKeys::Grow() {
  std::vector<uint64_t> old(table_.size() * 2, 0);
  old.swap(table_);
  const size_t mask = table_.size() - 1;
  for (uint64_t k : old) {
    if (k == 0) continue;
    size_t i = Home(k);
    while (table_[i] != 0) i = (i + 1) & mask;
    table_[i] = k;
  }
}

// Linear probing's deletion by backward shift: the keys after the hole that may move
// into it do, so that every key stays reachable from its home without tombstones.
void RecentKeys::Erase(uint64_t key) {
  const size_t mask = table_.size() - 1;
  size_t i = Home(key);
  while (table_[i] != key) {
    if (table_[i] == 0) return;
    i = (i + 1) & mask;
  }
  for (size_t j = (i + 1) & mask; table_[j] != 0; j = (j + 1) & mask) {
    const size_t h = Home(table_[j]);
    const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (!stays) {
      table_[i] = table_[j];
      i = j;
    }
  }
  table_[i] = 0;
}

bool RecentKeys::Add(uint64_t key) {
  if (key == 0) key = 1;
  if (Contains(key)) return false;
  if (count_ == capacity_) {
    Erase(order_[next_]);
    order_[next_] = key;
    next_ = (next_ + 1) % capacity_;
  } else {
    order_.push_back(key);
    ++count_;
    if (count_ * 2 > table_.size()) Grow();
  }
  const size_t mask = table_.size() - 1;
  size_t i = Home(key);
  while (table_[i] != 0) i = (i + 1) & mask;
  table_[i] = key;
  return true;
}

TraceContextChecker::TraceContextChecker(size_t span_capacity, size_t max_pending)
    : spans_(span_capacity), max_pending_(std::max<size_t>(max_pending, 1)) {}

void TraceContextChecker::Unresolve(Waiting& w, std::pair<uint64_t, uint64_t>* lost) {
  for (int k = 0; k < 2; ++k) {
    counts_[k].unresolved += w.count[k];
    counts_[k].pending -= w.count[k];
  }
  lost->first += w.count[0];
  lost->second += w.count[1];
}

void TraceContextChecker::Refer(uint64_t key, int kind, std::pair<uint64_t, uint64_t>* lost) {
  ++counts_[kind].named;
  if (spans_.Contains(key)) {
    ++counts_[kind].resolved;
    return;
  }
  Waiting& w = waiting_[key];
  ++w.count[kind];
  w.last = ++sequence_;
  ++counts_[kind].pending;
  order_.emplace_back(key, sequence_);
  // The oldest reference gives way (entries of resolved keys are dropped on the way).
  while (order_.size() > max_pending_) {
    const auto [k, seq] = order_.front();
    order_.pop_front();
    const auto it = waiting_.find(k);
    if (it != waiting_.end() && it->second.last == seq) {
      Unresolve(it->second, lost);
      waiting_.erase(it);
    }
  }
}

std::pair<uint64_t, uint64_t> TraceContextChecker::Note(const SpanLinks& links) {
  std::pair<uint64_t, uint64_t> lost{0, 0};
  for (uint64_t key : links.spans) {
    spans_.Add(key);
    if (waiting_.empty()) continue;
    const auto it = waiting_.find(key);
    if (it == waiting_.end()) continue;
    for (int k = 0; k < 2; ++k) {
      counts_[k].resolved += it->second.count[k];
      counts_[k].pending -= it->second.count[k];
    }
    waiting_.erase(it);
    if (waiting_.empty()) order_.clear();
  }
  for (uint64_t key : links.exemplars) Refer(key, 0, &lost);
  for (uint64_t key : links.logs) Refer(key, 1, &lost);
  return lost;
}

std::pair<uint64_t, uint64_t> TraceContextChecker::Settle() {
  std::pair<uint64_t, uint64_t> lost{0, 0};
  for (auto& [key, w] : waiting_) Unresolve(w, &lost);
  waiting_.clear();
  order_.clear();
  return lost;
}

}  // namespace loadgen

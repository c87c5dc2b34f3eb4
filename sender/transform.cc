#include "sender/transform.h"

#include <cassert>
#include <cstring>

#include "common/wire.h"

namespace loadgen {
namespace {

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

uint8_t* PutVarint(uint8_t* out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<uint8_t>(v);
  return out;
}

uint64_t LenTag(uint32_t field) { return (uint64_t{field} << 3) | wire::kLen; }

}  // namespace

TraceLinks::TraceLinks(const CompiledSignal& traces,
                       const std::vector<std::pair<uint32_t, uint32_t>>& shares,
                       uint64_t first_replay, uint64_t step)
    : shares_(std::make_unique<Share[]>(shares.size())),
      share_count_(shares.size()),
      first_replay_(first_replay),
      step_(step) {
  for (size_t w = 0; w < shares.size(); ++w) {
    shares_[w].begin = shares[w].first;
    shares_[w].end = shares[w].second;
  }
  // A trace cut into several units is whole once its last one is built.
  for (uint32_t u = 0; u < traces.unit_count(); ++u) {
    for (uint32_t g = traces.unit(u).first_group; g < traces.unit(u + 1).first_group; ++g) {
      last_unit_[traces.trace_groups[g]] = u;
    }
  }
}

std::vector<TraceLinks::Target> TraceLinks::Targets(const CompiledSignal& signal) const {
  std::vector<Target> out(signal.trace_groups.size());
  for (size_t g = 0; g < out.size(); ++g) {
    const auto found = last_unit_.find(signal.trace_groups[g]);
    if (found == last_unit_.end() || share_count_ == 0) continue;
    const uint32_t u = found->second;
    size_t lo = 0, hi = share_count_;  // The last share beginning at or before u.
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      (shares_[mid].begin <= u ? lo : hi) = mid;
    }
    if (u < shares_[lo].begin || u >= shares_[lo].end) continue;  // No worker sends it.
    out[g] = {static_cast<uint32_t>(lo), u - shares_[lo].begin};
  }
  return out;
}

int64_t TraceLinks::ReplayOf(Target target) const {
  if (target.worker == Target::kNone) return -1;
  const uint64_t built = shares_[target.worker].built.load(std::memory_order_relaxed);
  const uint64_t pass = built >> 32, at = built & 0xFFFFFFFFu;
  const uint64_t last = target.offset < at ? pass : pass > 0 ? pass - 1 : 0;
  return static_cast<int64_t>(first_replay_ + last * step_);
}

RequestBuilder::RequestBuilder(const CompiledSignal& signal, const IdMapper& ids,
                               TimestampOptions ts, uint64_t rng_seed, uint64_t series_start_ns,
                               SeriesFanout fanout, const TraceLinks* links)
    : signal_(signal),
      ids_(ids),
      links_(links),
      targets_(links != nullptr ? links->Targets(signal) : std::vector<TraceLinks::Target>{}),
      ts_(ts),
      rng_(rng_seed),
      series_start_ns_(series_start_ns),
      local_(signal.envelopes.size(), -1),
      counted_(signal.envelopes.size(), 0),
      fanout_(fanout) {}

int32_t RequestBuilder::Touch(uint32_t e) {
  if (local_[e] >= 0) return local_[e];
  const Envelope& env = signal_.envelopes[e];
  const int32_t parent = env.parent >= 0 ? Touch(static_cast<uint32_t>(env.parent)) : -1;
  const auto n = static_cast<int32_t>(nodes_.size());
  nodes_.push_back(Node{e, parent});
  local_[e] = n;
  int32_t& last = parent >= 0 ? nodes_[parent].last_child : last_top_;
  if (last >= 0) {
    nodes_[last].next_sibling = n;
  } else if (parent >= 0) {
    nodes_[parent].first_child = n;
  } else {
    first_top_ = n;
  }
  last = n;
  return n;
}

void RequestBuilder::AddPiece(uint32_t p) {
  const Piece& piece = signal_.piece(p);
  const int32_t n = Touch(piece.envelope);
  Node& node = nodes_[n];
  node.content += piece.size;
  if (node.last_run >= 0) {
    Run& run = runs_[node.last_run];
    if (run.end_piece == p && run.offset + run.size == piece.offset) {
      run.end_piece = p + 1;
      run.size += piece.size;
      return;
    }
  }
  const auto r = static_cast<int32_t>(runs_.size());
  runs_.push_back(Run{p, p + 1, piece.offset, piece.size});
  if (node.last_run >= 0) {
    runs_[node.last_run].next = r;
  } else {
    node.first_run = r;
  }
  node.last_run = r;
}

const RequestCut& RequestBuilder::Cut(uint32_t begin, uint32_t end, uint64_t max_events,
                                      size_t max_bytes) {
  assert(begin < end && end <= signal_.unit_count());
  for (const Node& n : nodes_) local_[n.envelope] = -1;
  nodes_.clear();
  runs_.clear();
  first_top_ = last_top_ = -1;
  cut_ = RequestCut{begin, begin, 0, 0};
  uint64_t estimate = 0;  // An upper bound of the request's size (framing at its widest).
  for (uint32_t u = begin; u < end; ++u) {
    const Unit& unit = signal_.unit(u);
    const uint32_t first = unit.first_piece, last = signal_.unit(u + 1).first_piece;
    if (u > begin) {
      if (cut_.events + unit.events > max_events) break;
      // What the unit adds: its items, and the envelopes the request does not hold yet.
      const uint32_t stamp = ++stamp_;
      uint64_t cost = 0;
      for (uint32_t p = first; p < last; ++p) {
        const Piece& piece = signal_.piece(p);
        cost += piece.size;
        for (int32_t e = static_cast<int32_t>(piece.envelope);
             e >= 0 && local_[e] < 0 && counted_[e] != stamp; e = signal_.envelopes[e].parent) {
          counted_[e] = stamp;
          cost += signal_.EnvelopeCost(static_cast<uint32_t>(e));
        }
      }
      if (estimate + cost > max_bytes) break;
      estimate += cost;
    } else {
      estimate = unit.alone_bytes;
    }
    for (uint32_t p = first; p < last; ++p) AddPiece(p);
    cut_.events += unit.events;
    cut_.end = u + 1;
  }
  // Sizes bottom up: every child comes after its parent.
  uint64_t total = 0;
  for (auto n = static_cast<int32_t>(nodes_.size()) - 1; n >= 0; --n) {
    Node& node = nodes_[n];
    const Envelope& env = signal_.envelopes[node.envelope];
    node.size = env.head.size() + node.content;
    const uint64_t framed = VarintSize(LenTag(env.field)) + VarintSize(node.size) + node.size;
    if (node.parent >= 0) {
      nodes_[node.parent].content += framed;
    } else {
      total += framed;
    }
  }
  cut_.bytes = total;
  return cut_;
}

void RequestBuilder::PatchPiece(uint32_t p, uint8_t* dst) {
  const Piece& piece = signal_.piece(p);
  const Piece& next = signal_.piece(p + 1);
  for (uint32_t s = piece.trace_slots; s < next.trace_slots; ++s) {
    const TraceIdSlot& slot = signal_.trace_slots[s];
    new_traces_[slot.group - group_base_].Store(dst + slot.offset);
  }
  for (uint32_t s = piece.span_slots; s < next.span_slots; ++s) {
    const SpanIdSlot& slot = signal_.span_slots[s];
    wire::StoreLE64(dst + slot.offset,
                    IdMapper::MapSpan(slot.template_id, new_traces_[slot.group - group_base_]));
  }
  if (signal_.signal == Signal::kMetrics) {
    uint64_t start = series_start_ns_, window = 0;
    if (fanout_.active()) {
      // A churned identity's series began when its generation did.
      if (Churns(signal_.envelopes[piece.envelope].root)) {
        start += generation_ * static_cast<uint64_t>(fanout_.churn_interval_ns);
      }
      // One point per collection interval: the delta window is the interval.
      window = std::max(start, base_ns_ - static_cast<uint64_t>(fanout_.interval_ns));
    }
    const uint64_t bases[kMetricTimeGroups] = {
        base_ns_, start,
        fanout_.replicas > 1 ? window
                             : last_sent_[piece.unit] - static_cast<uint64_t>(ts_.backdate_ns)};
    for (uint32_t s = piece.time_slots; s < next.time_slots; ++s) {
      const TimeSlot& slot = signal_.time_slots[s];
      wire::StoreLE64(dst + slot.offset, bases[slot.group] + static_cast<uint64_t>(slot.offset_ns));
    }
  } else {
    const uint64_t base = bases_[piece.unit - cut_.begin];
    for (uint32_t s = piece.time_slots; s < next.time_slots; ++s) {
      const TimeSlot& slot = signal_.time_slots[s];
      wire::StoreLE64(dst + slot.offset, base + static_cast<uint64_t>(slot.offset_ns));
    }
  }
  for (uint32_t s = piece.counter_slots; s < next.counter_slots; ++s) {
    const CounterSlot& slot = signal_.counter_slots[s];
    if (slot.is_double) {
      double v;
      std::memcpy(&v, &slot.template_bits, 8);
      v *= static_cast<double>(factor_);
      std::memcpy(dst + slot.offset, &v, 8);
    } else {
      wire::StoreLE64(dst + slot.offset, slot.template_bits * factor_);
    }
  }
}

uint8_t* RequestBuilder::WriteNode(int32_t n, uint8_t* out, bool patch) {
  const Node& node = nodes_[n];
  const Envelope& env = signal_.envelopes[node.envelope];
  out = PutVarint(out, LenTag(env.field));
  out = PutVarint(out, node.size);
  std::memcpy(out, env.head.data(), env.head.size());
  if (patch && env.identity_offset >= 0 && fanout_.active()) {
    // Another instance: the identity's last 8 hex digits, moved by a key unique to the
    // (replica, generation) pair; replica 0 of generation 0 keeps the template's.
    const uint64_t key =
        replica_ +
        (Churns(static_cast<uint32_t>(node.envelope)) ? generation_ * fanout_.replicas : 0);
    if (key != 0) {
      uint8_t* digits = out + env.identity_offset;
      uint32_t v = 0;
      for (int i = 0; i < 8; ++i) {
        const uint8_t c = digits[i];
        v = v << 4 | static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      }
      v += static_cast<uint32_t>(Fmix64(key)) | 1;
      static constexpr char kHex[] = "0123456789abcdef";
      for (int i = 7; i >= 0; --i, v >>= 4) digits[i] = static_cast<uint8_t>(kHex[v & 15]);
    }
  }
  out += env.head.size();
  if (env.leaf) {
    for (int32_t r = node.first_run; r >= 0; r = runs_[r].next) {
      const Run& run = runs_[r];
      std::memcpy(out, signal_.arena.data() + run.offset, run.size);
      if (patch) {
        for (uint32_t p = run.first_piece; p < run.end_piece; ++p) {
          PatchPiece(p, out + (signal_.piece(p).offset - run.offset));
        }
      }
      out += run.size;
    }
  } else {
    for (int32_t c = node.first_child; c >= 0; c = nodes_[c].next_sibling) {
      out = WriteNode(c, out, patch);
    }
  }
  return out;
}

void RequestBuilder::Write(uint64_t replay, uint64_t now_ns, const uint64_t* last_sent,
                           uint8_t* out) {
  group_base_ = signal_.unit(cut_.begin).first_group;
  const uint32_t group_end = signal_.unit(cut_.end).first_group;
  new_traces_.resize(group_end - group_base_);
  for (uint32_t g = group_base_; g < group_end; ++g) {
    const int64_t sent = links_ != nullptr ? links_->ReplayOf(targets_[g]) : -1;
    new_traces_[g - group_base_] =
        ids_.MapTrace(signal_.trace_groups[g], sent >= 0 ? static_cast<uint64_t>(sent) : replay);
  }
  base_ns_ = now_ns - static_cast<uint64_t>(ts_.backdate_ns);
  bases_.clear();
  if (signal_.signal != Signal::kMetrics) {
    const uint64_t span = static_cast<uint64_t>(ts_.jitter_ns) + 1;
    bases_.resize(cut_.end - cut_.begin);
    for (uint32_t u = cut_.begin; u < cut_.end; ++u) {
      const Unit& unit = signal_.unit(u);
      uint64_t jitter = 0;
      if (ts_.jitter_ns > 0) {
        // Every unit of a trace draws the same jitter, from its new trace ID.
        const bool traced =
            signal_.signal == Signal::kTraces && unit.first_group < signal_.unit(u + 1).first_group;
        const TraceId& t = traced ? new_traces_[unit.first_group - group_base_] : TraceId{};
        jitter = traced ? Fmix64(t.lo ^ Fmix64(t.hi)) % span : rng_.Below(span);
      }
      bases_[u - cut_.begin] = base_ns_ - jitter - static_cast<uint64_t>(unit.latest_ns);
    }
  }
  factor_ = replay + 1;
  if (signal_.signal == Signal::kMetrics && fanout_.active()) {
    replica_ = replay % fanout_.replicas;
    factor_ = replay / fanout_.replicas + 1;  // This replica's visits so far.
    generation_ =
        fanout_.churn_interval_ns > 0 && base_ns_ > series_start_ns_
            ? (base_ns_ - series_start_ns_) / static_cast<uint64_t>(fanout_.churn_interval_ns)
            : 0;
  }
  last_sent_ = last_sent;
  for (int32_t n = first_top_; n >= 0; n = nodes_[n].next_sibling) out = WriteNode(n, out, true);
}

void RequestBuilder::WriteTemplate(uint8_t* out) {
  for (int32_t n = first_top_; n >= 0; n = nodes_[n].next_sibling) out = WriteNode(n, out, false);
}

bool RequestBuilder::Churns(uint32_t root) const {
  if (fanout_.churn_interval_ns <= 0 || fanout_.churn_share <= 0) return false;
  // A fixed share of (resource, replica) pairs, the same every interval.
  const uint64_t h = Fmix64((uint64_t{root} << 32) ^ replica_ ^ 0xC6A4A7935BD1E995ull);
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fanout_.churn_share;
}

}  // namespace loadgen

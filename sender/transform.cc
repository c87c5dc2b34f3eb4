#include "sender/transform.h"

#include <cstring>

#include "common/wire.h"

namespace loadgen {

void FramePatcher::Patch(const CompiledFrame& frame, uint64_t replay, uint64_t now_ns,
                         uint64_t window_start_ns, uint8_t* out) {
  std::memcpy(out, frame.bytes.data(), frame.bytes.size());

  new_traces_.resize(frame.trace_groups.size());
  for (size_t g = 0; g < frame.trace_groups.size(); ++g) {
    new_traces_[g] = ids_.MapTrace(frame.trace_groups[g], replay);
  }
  for (const TraceIdSlot& s : frame.trace_slots) new_traces_[s.group].Store(out + s.offset);
  for (const SpanIdSlot& s : frame.span_slots) {
    wire::StoreLE64(out + s.offset, IdMapper::MapSpan(s.template_id, new_traces_[s.group]));
  }

  bases_.resize(frame.time_groups);
  const uint64_t base = now_ns - static_cast<uint64_t>(ts_.backdate_ns);
  if (frame.signal == Signal::kMetrics) {
    bases_[kMetricTimeGroup] = base;
    bases_[kMetricStartTimeGroup] = series_start_ns_;
    bases_[kMetricWindowStartGroup] = window_start_ns - static_cast<uint64_t>(ts_.backdate_ns);
  } else if (ts_.jitter_ns > 0) {
    const uint64_t span = static_cast<uint64_t>(ts_.jitter_ns) + 1;
    for (auto& b : bases_) b = base + rng_.Below(span);
  } else {
    std::fill(bases_.begin(), bases_.end(), base);
  }
  for (const TimeSlot& s : frame.time_slots) {
    wire::StoreLE64(out + s.offset, bases_[s.group] + static_cast<uint64_t>(s.offset_ns));
  }
  const uint64_t factor = replay + 1;
  for (const CounterSlot& s : frame.counter_slots) {
    if (s.is_double) {
      double v;
      std::memcpy(&v, &s.template_bits, 8);
      v *= static_cast<double>(factor);
      std::memcpy(out + s.offset, &v, 8);
    } else {
      wire::StoreLE64(out + s.offset, s.template_bits * factor);
    }
  }
}

}  // namespace loadgen

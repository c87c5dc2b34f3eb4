#include "sender/rechunk.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/strings.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;

// Bytes a repeated message field adds around an item of `size` bytes (tag + length).
size_t Framed(size_t size) {
  return size + 1 + (size < 128 ? 1 : size < 16384 ? 2 : size < 2097152 ? 3 : 5);
}

// One output request under construction. `Slot` finds or creates the container for
// (resource, scope[, metric]) in the output, copying the envelope without its items.
template <typename Request>
struct Piece {
  Request request;
  std::map<std::vector<int>, void*> containers;
  size_t items = 0;
  size_t bytes = 0;
};

// Length prefixes of the enclosing containers grow as items are added; this covers it.
constexpr size_t kContainerSlack = 16;

// What adding to container `key` costs beyond the item itself: its envelope, once.
template <typename P>
size_t EnvelopeCost(const P& piece, const std::vector<int>& key, size_t envelope) {
  return piece.containers.count(key) ? 0 : envelope + kContainerSlack;
}

template <typename Request>
class Packer {
 public:
  Packer(const ChunkLimits& limits, std::vector<std::string>* out) : limits_(limits), out_(out) {}

  bool Fits(size_t items, size_t bytes) const {
    return piece_.items == 0 ||
           (piece_.items + items <= limits_.max_items && piece_.bytes + bytes <= limits_.max_bytes);
  }
  void Flush() {
    if (piece_.items == 0) return;
    out_->push_back(piece_.request.SerializeAsString());
    piece_ = Piece<Request>();
  }
  Piece<Request>& piece() { return piece_; }

 private:
  ChunkLimits limits_;
  std::vector<std::string>* out_;
  Piece<Request> piece_;
};

absl::Status TooBig(size_t bytes, const ChunkLimits& limits, std::string_view what) {
  return absl::InvalidArgumentError(StrCat("one ", what, " takes ", bytes,
                                           " bytes, more than sending.max_request_bytes (",
                                           limits.max_bytes, ")"));
}

absl::StatusOr<std::vector<std::string>> SplitTraces(const std::string& payload,
                                                     const ChunkLimits& limits) {
  ct::ExportTraceServiceRequest in;
  if (!in.ParseFromString(payload)) return absl::InvalidArgumentError("undecodable chunk");
  // Spans of each trace, in order of first appearance, with where they live.
  struct Ref {
    int r, s, i;
    size_t bytes;
  };
  std::vector<std::string> order;
  std::map<std::string, std::vector<Ref>> traces;
  for (int r = 0; r < in.resource_spans_size(); ++r)
    for (int s = 0; s < in.resource_spans(r).scope_spans_size(); ++s)
      for (int i = 0; i < in.resource_spans(r).scope_spans(s).spans_size(); ++i) {
        const auto& span = in.resource_spans(r).scope_spans(s).spans(i);
        auto [it, fresh] = traces.try_emplace(span.trace_id());
        if (fresh) order.push_back(span.trace_id());
        it->second.push_back({r, s, i, Framed(span.ByteSizeLong())});
      }
  std::vector<std::string> out;
  Packer<ct::ExportTraceServiceRequest> packer(limits, &out);
  std::map<std::pair<int, int>, size_t> envelope_cache;
  auto envelope = [&](const Ref& ref) {
    size_t& cached = envelope_cache[{ref.r, ref.s}];
    if (cached != 0) return cached;
    const auto& rs = in.resource_spans(ref.r);
    opentelemetry::proto::trace::v1::ResourceSpans e;
    *e.mutable_resource() = rs.resource();
    e.set_schema_url(rs.schema_url());
    *e.add_scope_spans()->mutable_scope() = rs.scope_spans(ref.s).scope();
    e.mutable_scope_spans(0)->set_schema_url(rs.scope_spans(ref.s).schema_url());
    return cached = Framed(e.ByteSizeLong());
  };
  auto add = [&](const Ref& ref) -> absl::Status {
    if (ref.bytes > limits.max_bytes) return TooBig(ref.bytes, limits, "span");
    auto& piece = packer.piece();
    void*& slot = piece.containers[{ref.r, ref.s}];
    if (slot == nullptr) {
      const auto& rs = in.resource_spans(ref.r);
      auto* out_rs = piece.request.add_resource_spans();
      *out_rs->mutable_resource() = rs.resource();
      out_rs->set_schema_url(rs.schema_url());
      auto* out_ss = out_rs->add_scope_spans();
      *out_ss->mutable_scope() = rs.scope_spans(ref.s).scope();
      out_ss->set_schema_url(rs.scope_spans(ref.s).schema_url());
      slot = out_ss;
      piece.bytes += envelope(ref) + kContainerSlack;
    }
    *static_cast<opentelemetry::proto::trace::v1::ScopeSpans*>(slot)->add_spans() =
        in.resource_spans(ref.r).scope_spans(ref.s).spans(ref.i);
    piece.items += 1;
    piece.bytes += ref.bytes;
    return absl::OkStatus();
  };
  for (const std::string& id : order) {
    auto& spans = traces[id];
    // Parents start no later than their children: a trace cut into pieces then keeps
    // each span's parent in the same or an earlier piece.
    std::stable_sort(spans.begin(), spans.end(), [&](const Ref& a, const Ref& b) {
      return in.resource_spans(a.r).scope_spans(a.s).spans(a.i).start_time_unix_nano() <
             in.resource_spans(b.r).scope_spans(b.s).spans(b.i).start_time_unix_nano();
    });
    // What the whole trace would add to the current piece, envelopes included.
    auto trace_cost = [&] {
      size_t bytes = 0;
      std::set<std::pair<int, int>> containers;
      for (const Ref& ref : spans) {
        bytes += ref.bytes;
        if (containers.insert({ref.r, ref.s}).second) {
          bytes += EnvelopeCost(packer.piece(), {ref.r, ref.s}, envelope(ref));
        }
      }
      return bytes;
    };
    // A trace that fits in a fresh request starts one rather than being cut.
    if (!packer.Fits(spans.size(), trace_cost())) packer.Flush();
    for (const Ref& ref : spans) {
      if (!packer.Fits(1,
                       ref.bytes + EnvelopeCost(packer.piece(), {ref.r, ref.s}, envelope(ref)))) {
        packer.Flush();
      }
      if (auto st = add(ref); !st.ok()) return st;
    }
  }
  packer.Flush();
  return out;
}

absl::StatusOr<std::vector<std::string>> SplitLogs(const std::string& payload,
                                                   const ChunkLimits& limits) {
  cl::ExportLogsServiceRequest in;
  if (!in.ParseFromString(payload)) return absl::InvalidArgumentError("undecodable chunk");
  std::vector<std::string> out;
  Packer<cl::ExportLogsServiceRequest> packer(limits, &out);
  for (int r = 0; r < in.resource_logs_size(); ++r)
    for (int s = 0; s < in.resource_logs(r).scope_logs_size(); ++s) {
      const auto& rl_in = in.resource_logs(r);
      opentelemetry::proto::logs::v1::ResourceLogs e;
      *e.mutable_resource() = rl_in.resource();
      e.set_schema_url(rl_in.schema_url());
      *e.add_scope_logs()->mutable_scope() = rl_in.scope_logs(s).scope();
      e.mutable_scope_logs(0)->set_schema_url(rl_in.scope_logs(s).schema_url());
      const size_t envelope = Framed(e.ByteSizeLong());
      for (const auto& record : in.resource_logs(r).scope_logs(s).log_records()) {
        const size_t bytes = Framed(record.ByteSizeLong());
        if (bytes > limits.max_bytes) return TooBig(bytes, limits, "log record");
        if (!packer.Fits(1, bytes + EnvelopeCost(packer.piece(), {r, s}, envelope))) packer.Flush();
        auto& piece = packer.piece();
        void*& slot = piece.containers[{r, s}];
        if (slot == nullptr) {
          const auto& rl = in.resource_logs(r);
          auto* out_rl = piece.request.add_resource_logs();
          *out_rl->mutable_resource() = rl.resource();
          out_rl->set_schema_url(rl.schema_url());
          auto* out_sl = out_rl->add_scope_logs();
          *out_sl->mutable_scope() = rl.scope_logs(s).scope();
          out_sl->set_schema_url(rl.scope_logs(s).schema_url());
          slot = out_sl;
          piece.bytes += envelope + kContainerSlack;
        }
        *static_cast<opentelemetry::proto::logs::v1::ScopeLogs*>(slot)->add_log_records() = record;
        piece.items += 1;
        piece.bytes += bytes;
      }
    }
  packer.Flush();
  return out;
}

// Moves `count` points starting at `first` of `from` into `to` (same kind of data).
void CopyPoints(const opentelemetry::proto::metrics::v1::Metric& from, int first,
                opentelemetry::proto::metrics::v1::Metric* to) {
  using M = opentelemetry::proto::metrics::v1::Metric;
  switch (from.data_case()) {
    case M::kGauge:
      *to->mutable_gauge()->add_data_points() = from.gauge().data_points(first);
      break;
    case M::kSum: *to->mutable_sum()->add_data_points() = from.sum().data_points(first); break;
    case M::kHistogram:
      *to->mutable_histogram()->add_data_points() = from.histogram().data_points(first);
      break;
    case M::kExponentialHistogram:
      *to->mutable_exponential_histogram()->add_data_points() =
          from.exponential_histogram().data_points(first);
      break;
    case M::kSummary:
      *to->mutable_summary()->add_data_points() = from.summary().data_points(first);
      break;
    default: break;
  }
}

void EmptyDataLike(const opentelemetry::proto::metrics::v1::Metric& from,
                   opentelemetry::proto::metrics::v1::Metric* to) {
  using M = opentelemetry::proto::metrics::v1::Metric;
  switch (from.data_case()) {
    case M::kGauge: to->mutable_gauge(); break;
    case M::kSum:
      to->mutable_sum()->set_aggregation_temporality(from.sum().aggregation_temporality());
      to->mutable_sum()->set_is_monotonic(from.sum().is_monotonic());
      break;
    case M::kHistogram:
      to->mutable_histogram()->set_aggregation_temporality(
          from.histogram().aggregation_temporality());
      break;
    case M::kExponentialHistogram:
      to->mutable_exponential_histogram()->set_aggregation_temporality(
          from.exponential_histogram().aggregation_temporality());
      break;
    case M::kSummary: to->mutable_summary(); break;
    default: break;
  }
}

size_t PointCount(const opentelemetry::proto::metrics::v1::Metric& m) {
  return m.gauge().data_points_size() + m.sum().data_points_size() +
         m.histogram().data_points_size() + m.exponential_histogram().data_points_size() +
         m.summary().data_points_size();
}

size_t PointBytes(const opentelemetry::proto::metrics::v1::Metric& m, int i) {
  using M = opentelemetry::proto::metrics::v1::Metric;
  switch (m.data_case()) {
    case M::kGauge: return Framed(m.gauge().data_points(i).ByteSizeLong());
    case M::kSum: return Framed(m.sum().data_points(i).ByteSizeLong());
    case M::kHistogram: return Framed(m.histogram().data_points(i).ByteSizeLong());
    case M::kExponentialHistogram:
      return Framed(m.exponential_histogram().data_points(i).ByteSizeLong());
    case M::kSummary: return Framed(m.summary().data_points(i).ByteSizeLong());
    default: return 0;
  }
}

absl::StatusOr<std::vector<std::string>> SplitMetrics(const std::string& payload,
                                                      const ChunkLimits& limits) {
  cm::ExportMetricsServiceRequest in;
  if (!in.ParseFromString(payload)) return absl::InvalidArgumentError("undecodable chunk");
  std::vector<std::string> out;
  Packer<cm::ExportMetricsServiceRequest> packer(limits, &out);
  for (int r = 0; r < in.resource_metrics_size(); ++r)
    for (int s = 0; s < in.resource_metrics(r).scope_metrics_size(); ++s) {
      const auto& rm_in = in.resource_metrics(r);
      opentelemetry::proto::metrics::v1::ResourceMetrics e;
      *e.mutable_resource() = rm_in.resource();
      e.set_schema_url(rm_in.schema_url());
      *e.add_scope_metrics()->mutable_scope() = rm_in.scope_metrics(s).scope();
      e.mutable_scope_metrics(0)->set_schema_url(rm_in.scope_metrics(s).schema_url());
      const size_t scope_envelope = Framed(e.ByteSizeLong());
      for (int m = 0; m < in.resource_metrics(r).scope_metrics(s).metrics_size(); ++m) {
        const auto& metric = in.resource_metrics(r).scope_metrics(s).metrics(m);
        for (size_t p = 0; p < PointCount(metric); ++p) {
          const size_t bytes = PointBytes(metric, static_cast<int>(p));
          if (bytes > limits.max_bytes) return TooBig(bytes, limits, "data point");
          const size_t metric_envelope = Framed(metric.name().size() + metric.unit().size() +
                                                metric.description().size() + 16);
          if (!packer.Fits(1, bytes + EnvelopeCost(packer.piece(), {r, s}, scope_envelope) +
                                  EnvelopeCost(packer.piece(), {r, s, m}, metric_envelope))) {
            packer.Flush();
          }
          auto& piece = packer.piece();
          void*& scope_slot = piece.containers[{r, s}];
          if (scope_slot == nullptr) {
            const auto& rm = in.resource_metrics(r);
            auto* out_rm = piece.request.add_resource_metrics();
            *out_rm->mutable_resource() = rm.resource();
            out_rm->set_schema_url(rm.schema_url());
            auto* out_sm = out_rm->add_scope_metrics();
            *out_sm->mutable_scope() = rm.scope_metrics(s).scope();
            out_sm->set_schema_url(rm.scope_metrics(s).schema_url());
            scope_slot = out_sm;
            piece.bytes += scope_envelope + kContainerSlack;
          }
          void*& metric_slot = piece.containers[{r, s, m}];
          if (metric_slot == nullptr) {
            // The metric's envelope (name, unit, temporality, ...) without its points.
            auto* out_m = static_cast<opentelemetry::proto::metrics::v1::ScopeMetrics*>(scope_slot)
                              ->add_metrics();
            out_m->set_name(metric.name());
            out_m->set_description(metric.description());
            out_m->set_unit(metric.unit());
            *out_m->mutable_metadata() = metric.metadata();
            EmptyDataLike(metric, out_m);
            metric_slot = out_m;
            piece.bytes += metric_envelope + kContainerSlack;
          }
          CopyPoints(metric, static_cast<int>(p),
                     static_cast<opentelemetry::proto::metrics::v1::Metric*>(metric_slot));
          piece.items += 1;
          piece.bytes += bytes;
        }
      }
    }
  packer.Flush();
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitChunk(Signal signal, std::string payload,
                                                    uint64_t items, const ChunkLimits& limits) {
  if (items <= limits.max_items && payload.size() <= limits.max_bytes) {
    std::vector<std::string> one;
    one.push_back(std::move(payload));
    return one;
  }
  switch (signal) {
    case Signal::kTraces: return SplitTraces(payload, limits);
    case Signal::kMetrics: return SplitMetrics(payload, limits);
    case Signal::kLogs: return SplitLogs(payload, limits);
  }
  return absl::InternalError("unknown signal");
}

}  // namespace loadgen

#include "sender/loader.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <unordered_map>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/template_file.h"
#include "common/wire.h"

namespace loadgen {

namespace {

using Attributes = std::vector<std::pair<std::string, std::string>>;

// `message` with its KeyValues in field `number` whose key is in `attrs` dropped, and
// `attrs` added after its other fields.
std::string WithAttributes(std::string_view message, uint32_t number, const Attributes& attrs) {
  std::string out;
  out.reserve(message.size() + 64);
  wire::FieldReader r(message);
  wire::Field f;
  const uint8_t* copied = reinterpret_cast<const uint8_t*>(message.data());
  while (r.Next(&f)) {
    bool replaced = false;
    if (f.number == number && f.type == wire::kLen) {
      wire::FieldReader kv(f.data, f.size);
      wire::Field k;
      while (kv.Next(&k)) {
        if (k.number != 1 || k.type != wire::kLen) continue;
        const std::string_view key(reinterpret_cast<const char*>(k.data), k.size);
        for (const auto& [name, value] : attrs) replaced |= name == key;
      }
    }
    if (!replaced) {
      out.append(reinterpret_cast<const char*>(copied), static_cast<size_t>(r.position() - copied));
    }
    copied = r.position();
  }
  for (const auto& [key, value] : attrs) {
    std::string any_value, kv;
    wire::AppendLenField(&any_value, 1, value);  // AnyValue.string_value
    wire::AppendLenField(&kv, 1, key);           // KeyValue.key
    wire::AppendLenField(&kv, 2, any_value);
    wire::AppendLenField(&out, number, kv);
  }
  return out;
}

// Rewrites the LEN fields `number` of `message` with `edit` (and, with `missing`, adds
// one made from nothing when there is none); copies the rest as it is.
template <typename Edit>
absl::StatusOr<std::string> EditFields(std::string_view message, uint32_t number, bool missing,
                                       Edit&& edit) {
  std::string out;
  out.reserve(message.size() + 64);
  wire::FieldReader r(message);
  wire::Field f;
  const uint8_t* copied = reinterpret_cast<const uint8_t*>(message.data());
  bool seen = false;
  while (r.Next(&f)) {
    if (f.number == number && f.type == wire::kLen) {
      ASSIGN_OR_RETURN(std::string edited,
                       edit(std::string_view(reinterpret_cast<const char*>(f.data), f.size)));
      wire::AppendLenField(&out, number, edited);
      seen = true;
    } else {
      out.append(reinterpret_cast<const char*>(copied), static_cast<size_t>(r.position() - copied));
    }
    copied = r.position();
  }
  if (r.error()) return absl::InvalidArgumentError("malformed Export request");
  if (missing && !seen) {
    ASSIGN_OR_RETURN(std::string made, edit(std::string_view()));
    wire::AppendLenField(&out, number, made);
  }
  return out;
}

// `message` without its fields `number`.
std::string WithoutField(std::string_view message, uint32_t number) {
  std::string out;
  out.reserve(message.size());
  wire::FieldReader r(message);
  wire::Field f;
  const uint8_t* copied = reinterpret_cast<const uint8_t*>(message.data());
  while (r.Next(&f)) {
    if (f.number != number) {
      out.append(reinterpret_cast<const char*>(copied), static_cast<size_t>(r.position() - copied));
    }
    copied = r.position();
  }
  return out;
}

// The late-root delay (ms) `span` is marked with, or -1; `unmarked` gets the span
// without the mark when there is one.
int64_t TakeLateRootMark(std::string_view span, std::string* unmarked) {
  int64_t delay = -1;
  unmarked->clear();
  wire::FieldReader r(span);
  wire::Field f;
  const uint8_t* copied = reinterpret_cast<const uint8_t*>(span.data());
  while (r.Next(&f)) {
    bool mark = false;
    if (f.number == 9 && f.type == wire::kLen) {  // Span.attributes: a KeyValue.
      wire::FieldReader kv(f.data, f.size);
      wire::Field k;
      std::string_view key;
      int64_t value = -1;
      while (kv.Next(&k)) {
        if (k.number == 1 && k.type == wire::kLen) {
          key = std::string_view(reinterpret_cast<const char*>(k.data), k.size);
        } else if (k.number == 2 && k.type == wire::kLen) {
          wire::FieldReader any(k.data, k.size);
          wire::Field v;
          while (any.Next(&v)) {
            if (v.number == 3 && v.type == wire::kVarint) {  // AnyValue.int_value
              value = static_cast<int64_t>(v.varint);
            }
          }
        }
      }
      mark = key == kLateRootDelayAttribute && value >= 0;
      if (mark) delay = value;
    }
    if (!mark) {
      unmarked->append(reinterpret_cast<const char*>(copied),
                       static_cast<size_t>(r.position() - copied));
    }
    copied = r.position();
  }
  return delay;
}

}  // namespace

absl::Status SplitLateRoots(std::string_view request, std::string* rest,
                            std::vector<std::string>* roots, std::vector<int64_t>* delays_ms) {
  struct Root {
    std::string trace, request;
    int64_t delay_ms;
  };
  std::vector<Root> found;
  std::unordered_map<std::string, size_t> order;  // Trace ID: its place in `rest`.
  std::string unmarked;
  auto scope = [&](std::string_view resource_head,
                   std::string_view scope_spans) -> absl::StatusOr<std::string> {
    std::string out;
    out.reserve(scope_spans.size());
    wire::FieldReader r(scope_spans);
    wire::Field f;
    const uint8_t* copied = reinterpret_cast<const uint8_t*>(scope_spans.data());
    while (r.Next(&f)) {
      if (f.number == 2 && f.type == wire::kLen) {  // ScopeSpans.spans
        const std::string_view span(reinterpret_cast<const char*>(f.data), f.size);
        std::string trace;
        wire::FieldReader fields(span);
        wire::Field t;
        while (fields.Next(&t)) {
          if (t.number == 1 && t.type == wire::kLen) {
            trace.assign(reinterpret_cast<const char*>(t.data), t.size);
          }
        }
        const int64_t delay = TakeLateRootMark(span, &unmarked);
        if (delay >= 0) {
          // The root alone under its own resource and scope.
          std::string scope_alone = WithoutField(scope_spans, 2), resource_alone(resource_head);
          wire::AppendLenField(&scope_alone, 2, unmarked);
          wire::AppendLenField(&resource_alone, 2, scope_alone);
          Root root{std::move(trace), {}, delay};
          wire::AppendLenField(&root.request, 1, resource_alone);
          found.push_back(std::move(root));
          copied = r.position();
          continue;
        }
        order.try_emplace(std::move(trace), order.size());
      }
      out.append(reinterpret_cast<const char*>(copied), static_cast<size_t>(r.position() - copied));
      copied = r.position();
    }
    if (r.error()) return absl::InvalidArgumentError("malformed ScopeSpans");
    return out;
  };
  ASSIGN_OR_RETURN(*rest, EditFields(request, 1, false, [&](std::string_view resource_spans) {
    const std::string head = WithoutField(resource_spans, 2);
    return EditFields(resource_spans, 2, false, [&](std::string_view s) { return scope(head, s); });
  }));
  std::vector<std::pair<size_t, size_t>> by_trace;  // (place of its trace, index in found)
  for (size_t i = 0; i < found.size(); ++i) {
    const auto at = order.find(found[i].trace);
    if (at == order.end()) {
      return absl::InvalidArgumentError(
          StrCat("the late root of trace ", HexString(found[i].trace),
                 " has no other span of its trace in the same chunk; a late root is sent after "
                 "the rest of its trace, which must be there"));
    }
    by_trace.emplace_back(at->second, i);
  }
  std::stable_sort(by_trace.begin(), by_trace.end());
  roots->clear();
  delays_ms->clear();
  for (const auto& [place, i] : by_trace) {
    roots->push_back(std::move(found[i].request));
    delays_ms->push_back(found[i].delay_ms);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DropExemplars(std::string_view request) {
  auto metric = [](std::string_view m) -> absl::StatusOr<std::string> {
    std::string out(m);
    // Gauge (5) and sum (7) points hold exemplars in field 5, histogram (9) points in
    // 8, exponential-histogram (10) points in 11; each case holds its points in 1.
    for (const auto& kind : {std::pair{5u, 5u}, {7u, 5u}, {9u, 8u}, {10u, 11u}}) {
      const uint32_t field = kind.second;  // A structured binding clang 14 cannot capture.
      ASSIGN_OR_RETURN(out, EditFields(out, kind.first, false, [field](std::string_view d) {
                         return EditFields(d, 1, false, [field](std::string_view p) {
                           return absl::StatusOr<std::string>(WithoutField(p, field));
                         });
                       }));
    }
    return out;
  };
  auto scope = [&](std::string_view s) { return EditFields(s, 2, false, metric); };
  auto resource = [&](std::string_view r) { return EditFields(r, 2, false, scope); };
  return EditFields(request, 1, false, resource);
}

absl::StatusOr<std::string> ApplyAttributeOverrides(std::string_view request, Signal signal,
                                                    const AttributeOverrides& o) {
  auto same = [](std::string_view m) -> absl::StatusOr<std::string> { return std::string(m); };
  auto scope_msg = [&](std::string_view scope) -> absl::StatusOr<std::string> {
    // InstrumentationScope: 3 attributes.
    return o.scope.empty() ? std::string(scope) : WithAttributes(scope, 3, o.scope);
  };
  auto span = [&](std::string_view s) -> absl::StatusOr<std::string> {
    return WithAttributes(s, 9, o.span);  // Span: 9 attributes.
  };
  auto scope_x = [&](std::string_view m) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(std::string out,
                     o.scope.empty() ? same(m) : EditFields(m, 1, true, scope_msg));
    if (signal != Signal::kTraces || o.span.empty()) return out;
    return EditFields(out, 2, false, span);
  };
  auto resource = [&](std::string_view r) -> absl::StatusOr<std::string> {
    return WithAttributes(r, 1, o.resource);  // Resource: 1 attributes.
  };
  auto resource_x = [&](std::string_view m) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(std::string out,
                     o.resource.empty() ? same(m) : EditFields(m, 1, true, resource));
    return EditFields(out, 2, false, scope_x);
  };
  return EditFields(request, 1, false, resource_x);
}

namespace {

// Which trace unit each late root follows (the last unit of its trace), once both are
// compiled; see LateRoots.
absl::Status LinkLateRoots(const std::string& path, const CompiledSignal& traces,
                           std::vector<int64_t> delays_ms, LateRoots* late) {
  std::unordered_map<TraceId, uint32_t, TraceIdHash> last_unit;
  for (uint32_t u = 0; u < traces.unit_count(); ++u) {
    for (uint32_t g = traces.unit(u).first_group; g < traces.unit(u + 1).first_group; ++g) {
      last_unit[traces.trace_groups[g]] = u;
    }
  }
  const CompiledSignal& roots = late->roots;
  late->first_of_unit.assign(traces.unit_count() + 1, 0);
  uint32_t unit = 0;
  for (uint32_t d = 0; d < roots.unit_count(); ++d) {
    const auto at = last_unit.find(roots.trace_groups[roots.unit(d).first_group]);
    // Both hold: the split keeps a root's trace in its chunk, in trace order.
    if (at == last_unit.end() || at->second < unit) {
      return absl::InternalError(StrCat(path, ": late root ", d, " is out of its trace's order"));
    }
    for (; unit < at->second; ++unit) late->first_of_unit[unit + 1] = d;
  }
  for (; unit < traces.unit_count(); ++unit) late->first_of_unit[unit + 1] = roots.unit_count();
  late->delay_ns.clear();
  for (const int64_t ms : delays_ms) late->delay_ns.push_back(ms * 1'000'000);
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadTemplateFile(const std::string& path, Signal signal, const UnitLimits& limits,
                              LoadedDataset* out, const AttributeOverrides& overrides,
                              bool drop_exemplars) {
  ASSIGN_OR_RETURN(auto reader, TemplateReader::Open(path));
  if (reader->signal() != signal) {
    return absl::InvalidArgumentError(StrCat(path, ": holds ", SignalName(reader->signal()),
                                             " templates, but is configured as input.",
                                             SignalName(signal)));
  }
  SignalCompiler compiler(signal, limits);
  std::unique_ptr<SignalCompiler> late_compiler;  // When the templates mark late roots.
  std::vector<int64_t> delays_ms;
  std::error_code size_error;
  const auto file_size = std::filesystem::file_size(path, size_error);
  if (!size_error) compiler.Reserve(static_cast<size_t>(file_size));
  TemplateChunk chunk;
  std::string rest;
  std::vector<std::string> roots;
  std::vector<int64_t> chunk_delays;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&chunk));
    if (!more) break;
    const std::string where =
        StrCat(path, ": chunk ", chunk.index, " at offset ", chunk.file_offset);
    if (!overrides.empty()) {
      auto tagged = ApplyAttributeOverrides(chunk.payload, signal, overrides);
      if (!tagged.ok()) {
        return absl::InvalidArgumentError(StrCat(where, ": ", tagged.status().message()));
      }
      chunk.payload = *std::move(tagged);
    }
    if (drop_exemplars && signal == Signal::kMetrics) {
      auto dropped = DropExemplars(chunk.payload);
      if (!dropped.ok()) {
        return absl::InvalidArgumentError(StrCat(where, ": ", dropped.status().message()));
      }
      chunk.payload = *std::move(dropped);
    }
    uint64_t late_items = 0;
    if (signal == Signal::kTraces &&
        chunk.payload.find(kLateRootDelayAttribute) != std::string::npos) {
      if (auto s = SplitLateRoots(chunk.payload, &rest, &roots, &chunk_delays); !s.ok()) {
        return absl::InvalidArgumentError(StrCat(where, ": ", s.message()));
      }
      chunk.payload.swap(rest);
      if (late_compiler == nullptr)
        late_compiler = std::make_unique<SignalCompiler>(signal, limits);
      for (const std::string& root : roots) {
        ASSIGN_OR_RETURN(uint64_t n, late_compiler->Add(root, where));
        late_items += n;
      }
      delays_ms.insert(delays_ms.end(), chunk_delays.begin(), chunk_delays.end());
    }
    ASSIGN_OR_RETURN(uint64_t items, compiler.Add(chunk.payload, where));
    if (items + late_items != chunk.item_count) {
      return absl::DataLossError(StrCat(where, ": header counts ", chunk.item_count, " ",
                                        EventName(signal), " but the payload holds ",
                                        items + late_items));
    }
  }
  const int s = SignalIndex(signal);
  out->signals[s] = compiler.Finish();
  out->events[s] = out->signals[s].events;
  if (late_compiler != nullptr) {
    LateRoots& late = out->late_roots;
    late.roots = late_compiler->Finish();
    ShareTraceTimelines({&out->signals[s], &late.roots});
    RETURN_IF_ERROR(LinkLateRoots(path, out->signals[s], std::move(delays_ms), &late));
    out->events[s] += late.roots.events;
  }
  return absl::OkStatus();
}

}  // namespace loadgen

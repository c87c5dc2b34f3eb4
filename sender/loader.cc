#include "sender/loader.h"

#include <filesystem>

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

}  // namespace

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
  std::error_code size_error;
  const auto file_size = std::filesystem::file_size(path, size_error);
  if (!size_error) compiler.Reserve(static_cast<size_t>(file_size));
  TemplateChunk chunk;
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
    ASSIGN_OR_RETURN(uint64_t items, compiler.Add(chunk.payload, where));
    if (items != chunk.item_count) {
      return absl::DataLossError(StrCat(where, ": header counts ", chunk.item_count, " ",
                                        EventName(signal), " but the payload holds ", items));
    }
  }
  const int s = SignalIndex(signal);
  out->signals[s] = compiler.Finish();
  out->events[s] = out->signals[s].events;
  return absl::OkStatus();
}

}  // namespace loadgen

#include "sender/loader.h"

#include <filesystem>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/template_file.h"
#include "common/wire.h"

namespace loadgen {

absl::StatusOr<std::string> AddResourceAttribute(std::string_view request, std::string_view key,
                                                 std::string_view value) {
  std::string any_value, attribute;
  wire::AppendLenField(&any_value, 1, value);  // AnyValue.string_value
  wire::AppendLenField(&attribute, 1, key);    // KeyValue.key
  wire::AppendLenField(&attribute, 2, any_value);
  std::string out;
  out.reserve(request.size() + 64);
  wire::FieldReader top(request);
  wire::Field f;
  while (top.Next(&f)) {
    const std::string_view bytes(reinterpret_cast<const char*>(f.data), f.size);
    if (f.number != 1 || f.type != wire::kLen) {
      return absl::InvalidArgumentError("unexpected field in an Export request");
    }
    std::string rebuilt;
    bool has_resource = false;
    wire::FieldReader inner(bytes);
    wire::Field g;
    const uint8_t* copied = f.data;
    while (inner.Next(&g)) {
      if (g.number == 1 && g.type == wire::kLen) {
        std::string resource(reinterpret_cast<const char*>(g.data), g.size);
        wire::AppendLenField(&resource, 1, attribute);
        wire::AppendLenField(&rebuilt, 1, resource);
        has_resource = true;
      } else {
        rebuilt.append(reinterpret_cast<const char*>(copied),
                       static_cast<size_t>(inner.position() - copied));
      }
      copied = inner.position();
    }
    if (inner.error()) return absl::InvalidArgumentError("malformed resource in an Export request");
    if (!has_resource) {
      std::string resource;
      wire::AppendLenField(&resource, 1, attribute);
      wire::AppendLenField(&rebuilt, 1, resource);
    }
    wire::AppendLenField(&out, 1, rebuilt);
  }
  if (top.error()) return absl::InvalidArgumentError("malformed Export request");
  return out;
}

absl::Status LoadTemplateFile(const std::string& path, Signal signal, const UnitLimits& limits,
                              LoadedDataset* out,
                              const std::pair<std::string, std::string>& resource_attribute) {
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
    if (!resource_attribute.first.empty()) {
      auto tagged =
          AddResourceAttribute(chunk.payload, resource_attribute.first, resource_attribute.second);
      if (!tagged.ok()) {
        return absl::InvalidArgumentError(StrCat(where, ": ", tagged.status().message()));
      }
      chunk.payload = *std::move(tagged);
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

#include "sender/loader.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/template_file.h"

namespace loadgen {

absl::Status LoadTemplateFile(const std::string& path, Signal signal, const ChunkLimits& limits,
                              LoadedDataset* out) {
  ASSIGN_OR_RETURN(auto reader, TemplateReader::Open(path));
  if (reader->signal() != signal) {
    return absl::InvalidArgumentError(StrCat(path, ": holds ", SignalName(reader->signal()),
                                             " templates, but is configured as input.",
                                             SignalName(signal)));
  }
  const int s = SignalIndex(signal);
  TemplateChunk chunk;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&chunk));
    if (!more) break;
    const std::string where =
        StrCat(path, ": chunk ", chunk.index, " at offset ", chunk.file_offset);
    auto pieces = SplitChunk(signal, std::move(chunk.payload), chunk.item_count, limits);
    if (!pieces.ok())
      return absl::InvalidArgumentError(StrCat(where, ": ", pieces.status().message()));
    uint64_t events = 0;
    for (std::string& piece : *pieces) {
      ASSIGN_OR_RETURN(CompiledFrame frame, CompileFrame(signal, std::move(piece), where));
      events += frame.events;
      if (frame.events == 0) continue;  // Never send empty envelopes.
      out->events[s] += frame.events;
      out->bytes[s] += frame.bytes.size();
      out->frames[s].push_back(std::move(frame));
    }
    if (events != chunk.item_count) {
      return absl::DataLossError(StrCat(where, ": header counts ", chunk.item_count, " ",
                                        EventName(signal), " but the payload holds ", events));
    }
    chunk.payload = std::string();
  }
  return absl::OkStatus();
}

}  // namespace loadgen

#include "sender/loader.h"

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/template_file.h"

namespace loadgen {

absl::Status LoadTemplateFile(const std::string& path, Signal signal, size_t max_request_bytes,
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
    if (chunk.payload.size() > max_request_bytes) {
      return absl::InvalidArgumentError(
          StrCat(where, ": ", chunk.payload.size(), " bytes exceed sending.max_request_bytes (",
                 max_request_bytes, "); regenerate with a smaller output.max_chunk_bytes"));
    }
    ASSIGN_OR_RETURN(CompiledFrame frame, CompileFrame(signal, std::move(chunk.payload), where));
    if (frame.events != chunk.item_count) {
      return absl::DataLossError(StrCat(where, ": header counts ", chunk.item_count, " ",
                                        EventName(signal), " but the payload holds ",
                                        frame.events));
    }
    chunk.payload = std::string();
    if (frame.events == 0) continue;  // Never send empty envelopes.
    out->events[s] += frame.events;
    out->bytes[s] += frame.bytes.size();
    out->frames[s].push_back(std::move(frame));
  }
  return absl::OkStatus();
}

}  // namespace loadgen

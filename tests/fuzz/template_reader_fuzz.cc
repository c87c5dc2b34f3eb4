// Fuzzes the template reader: any byte string is either read as chunks whose CRCs
// verify or refused with an error; it never crashes or reads out of bounds. Chunks that
// pass the reader go on through the sender's load path (re-split, compile).
#include <cstdint>

#include "common/template_file.h"
#include "sender/frame.h"
#include "sender/rechunk.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = loadgen::fuzz::WriteScratch(data, size, ".pb");
  auto reader = loadgen::TemplateReader::Open(path);
  if (!reader.ok()) return 0;
  loadgen::TemplateChunk chunk;
  for (int i = 0; i < 64; ++i) {
    auto more = (*reader)->Next(&chunk);
    if (!more.ok() || !*more) break;
    const loadgen::ChunkLimits limits{.max_items = 7, .max_bytes = 512};
    auto pieces = loadgen::SplitChunk((*reader)->signal(), chunk.payload, chunk.item_count, limits);
    if (!pieces.ok()) continue;
    for (std::string& piece : *pieces) {
      (void)loadgen::CompileFrame((*reader)->signal(), std::move(piece), path);
    }
  }
  return 0;
}

// Fuzzes the template reader: any byte string is either read as chunks whose CRCs
// verify or refused with an error; it never crashes or reads out of bounds. Chunks that
// pass the reader go on through the sender's load path (compile into units).
#include <cstdint>

#include "common/template_file.h"
#include "sender/frame.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = loadgen::fuzz::WriteScratch(data, size, ".pb");
  auto reader = loadgen::TemplateReader::Open(path);
  if (!reader.ok()) return 0;
  loadgen::TemplateChunk chunk;
  loadgen::SignalCompiler compiler((*reader)->signal(), {.max_items = 7, .max_bytes = 512});
  for (int i = 0; i < 64; ++i) {
    auto more = (*reader)->Next(&chunk);
    if (!more.ok() || !*more) break;
    (void)compiler.Add(chunk.payload, path);
  }
  return 0;
}

// Fuzzes what the sender and the sink do with request bytes: the frame compiler (and,
// for frames it accepts, patching, which must stay within the frame and leave a
// well-formed request with the same item count), the re-splitter, and the sink's
// counting and validation of untrusted network input. The first byte picks the signal.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/otlp_sink.h"
#include "common/random.h"
#include "sender/frame.h"
#include "sender/rechunk.h"
#include "sender/transform.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto signal = static_cast<loadgen::Signal>(data[0] % 3 + 1);
  const std::string payload(reinterpret_cast<const char*>(data + 1), size - 1);

  uint64_t counted = 0;
  const bool well_formed = loadgen::CountItems(signal, payload, &counted);
  std::vector<std::pair<std::string, std::string>> problems;
  if (well_formed)
    loadgen::ValidateRequest(signal, payload, 5'000'000'000, 1'000'000'000, &problems);

  auto pieces = loadgen::SplitChunk(signal, payload, counted,
                                    loadgen::ChunkLimits{.max_items = 3, .max_bytes = 256});
  if (pieces.ok() && well_formed) {
    uint64_t total = 0;
    for (const std::string& piece : *pieces) {
      uint64_t n = 0;
      if (!loadgen::CountItems(signal, piece, &n)) std::abort();  // Splitting broke a request.
      total += n;
    }
    if (total != counted) std::abort();  // Splitting lost or invented items.
  }

  auto frame = loadgen::CompileFrame(signal, payload, "fuzz");
  if (!frame.ok()) return 0;
  const loadgen::IdMapper ids(42);
  loadgen::FramePatcher patcher(ids, loadgen::TimestampOptions{.jitter_ns = 1000}, 7,
                                1'000'000'000);
  std::string out(frame->bytes.size(), '\0');
  for (uint64_t replay = 0; replay < 2; ++replay) {
    patcher.Patch(*frame, replay, 2'000'000'000 + replay, 1'000'000'000,
                  reinterpret_cast<uint8_t*>(out.data()));
    uint64_t n = 0;
    if (!loadgen::CountItems(signal, out, &n) || n != frame->events) std::abort();
  }
  return 0;
}

// Fuzzes the YAML loaders (generator config, sender config, scenarios): any text is
// either loaded or refused with an error naming the file; never a crash. The first
// byte picks the loader.
#include <cstdint>

#include "generator/config.h"
#include "generator/scenario.h"
#include "sender/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string& path = loadgen::fuzz::WriteScratch(data + 1, size - 1, ".yaml");
  switch (data[0] % 3) {
    case 0: (void)loadgen::LoadGeneratorConfig(path); break;
    case 1: {
      loadgen::SenderConfig config;
      if (loadgen::ApplySenderConfigFile(path, &config).ok()) {
        (void)loadgen::ResolveGrpcTargets(&config);
      }
      break;
    }
    default: (void)loadgen::LoadScenarios({path}); break;
  }
  return 0;
}

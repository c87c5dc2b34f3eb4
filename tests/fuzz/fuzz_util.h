// Shared by the libFuzzer targets: the loaders under test read files, so each input is
// written to a per-process scratch file first (tmpfs-backed /dev/shm when present).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace loadgen::fuzz {

inline const std::string& ScratchPath(const char* suffix) {
  static const std::string path = [&] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/loadgen-fuzz-" + std::to_string(getpid()) + suffix;
  }();
  return path;
}

inline const std::string& WriteScratch(const uint8_t* data, size_t size, const char* suffix) {
  const std::string& path = ScratchPath(suffix);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace loadgen::fuzz

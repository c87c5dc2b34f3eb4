// Writes seed corpora for the fuzz targets from real inputs:
//   make_seeds OUT_DIR TEMPLATE.pb... -- CONFIG.yaml...
// OUT_DIR/template_reader: small template files; OUT_DIR/frame: each chunk with its
// signal byte in front; OUT_DIR/config: each YAML file with its loader byte in front
// (0 generator, 1 sender, 2 scenario; chosen by the file name).
#include <filesystem>
#include <string>

#include "common/atomic_file.h"
#include "common/read_file.h"
#include "common/strings.h"
#include "common/template_file.h"
#include "fmt/core.h"

namespace {

int Fail(const absl::Status& s) {
  fmt::print(stderr, "make_seeds: {}\n", s.message());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: make_seeds OUT_DIR TEMPLATE.pb... -- CONFIG.yaml...\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  for (const char* dir : {"template_reader", "frame", "config"}) {
    std::filesystem::create_directories(out / dir);
  }
  bool configs = false;
  int n = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      configs = true;
      continue;
    }
    auto text = loadgen::ReadFile(arg);
    if (!text.ok()) return Fail(text.status());
    const std::string name = std::filesystem::path(arg).filename().string();
    if (configs) {
      const char loader = name.find("sender") != std::string::npos      ? 1
                          : name.find("generator") != std::string::npos ? 0
                                                                        : 2;
      auto s = loadgen::WriteFileAtomically((out / "config" / name).string(),
                                            std::string(1, loader) + *text);
      if (!s.ok()) return Fail(s);
      continue;
    }
    if (auto s = loadgen::WriteFileAtomically((out / "template_reader" / name).string(), *text);
        !s.ok()) {
      return Fail(s);
    }
    auto reader = loadgen::TemplateReader::Open(arg);
    if (!reader.ok()) return Fail(reader.status());
    loadgen::TemplateChunk chunk;
    for (;;) {
      auto more = (*reader)->Next(&chunk);
      if (!more.ok()) return Fail(more.status());
      if (!*more) break;
      const char signal = static_cast<char>(static_cast<int>((*reader)->signal()) - 1);
      auto s = loadgen::WriteFileAtomically((out / "frame" / fmt::format("chunk-{}", n++)).string(),
                                            std::string(1, signal) + chunk.payload);
      if (!s.ok()) return Fail(s);
    }
  }
  fmt::print("make_seeds: {} chunks\n", n);
  return 0;
}

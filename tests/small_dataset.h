// A small generated dataset in a temporary directory, for tests that need real
// template files. Made, not checked in: the generator with a fixed seed.
#pragma once

#include "catch2/catch.hpp"
#include "common/template_file.h"
#include "generator/config.h"
#include "generator/dataset.h"
#include "tests/test_util.h"

namespace loadgen::testing {

inline GeneratorConfig SmallConfig(const TempDir& dir) {
  GeneratorConfig c;
  c.output_directory = dir.path();
  c.output_prefix = "small";
  c.trace_count = 60;
  c.spans_avg_per_trace = 12;
  c.spans_std_dev = 4;
  c.error_rate = 0.2;
  c.metric_count = 14;
  c.timeseries_min = 3;
  c.timeseries_max = 8;
  c.log_count = 400;
  c.trace_correlated_share = 1.0;
  c.max_chunk_bytes = 16 << 10;  // Several chunks per file.
  c.config_file = "(test)";
  return c;
}

inline DatasetSummary GenerateSmall(const TempDir& dir) {
  auto summary = GenerateDataset(SmallConfig(dir));
  REQUIRE(summary.ok());
  return *summary;
}

// Every chunk of a template file, in order.
inline std::vector<TemplateChunk> ReadChunks(const std::string& path) {
  auto r = TemplateReader::Open(path);
  REQUIRE(r.ok());
  std::vector<TemplateChunk> out;
  TemplateChunk c;
  while (*(*r)->Next(&c)) out.push_back(c);
  return out;
}

}  // namespace loadgen::testing

#include "common/template_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "catch2/catch.hpp"
#include "tests/test_util.h"

namespace loadgen {
namespace {

using testing::TempDir;

void WriteSample(const std::string& path) {
  auto w = TemplateWriter::Create(path, Signal::kLogs);
  REQUIRE(w.ok());
  REQUIRE((*w)->Append("first chunk payload", 3).ok());
  REQUIRE((*w)->Append(std::string(1000, 'x'), 7).ok());
  REQUIRE((*w)->Commit().ok());
}

std::string ReadAllError(const std::string& path) {
  auto r = TemplateReader::Open(path);
  if (!r.ok()) return std::string(r.status().message());
  TemplateChunk c;
  while (true) {
    auto more = (*r)->Next(&c);
    if (!more.ok()) return std::string(more.status().message());
    if (!*more) return "";
  }
}

void Corrupt(const std::string& path, size_t offset, uint8_t xor_mask) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c;
  f.get(c);
  f.seekp(offset);
  f.put(static_cast<char>(c ^ xor_mask));
}

TEST_CASE("template file round trip keeps chunks, counts and signal") {
  TempDir dir;
  const std::string path = dir.File("t.pb");
  WriteSample(path);
  auto r = TemplateReader::Open(path);
  REQUIRE(r.ok());
  CHECK((*r)->signal() == Signal::kLogs);
  TemplateChunk c;
  REQUIRE(*(*r)->Next(&c));
  CHECK(c.payload == "first chunk payload");
  CHECK(c.item_count == 3);
  CHECK(c.file_offset == kTemplateHeaderBytes);
  REQUIRE(*(*r)->Next(&c));
  CHECK(c.payload == std::string(1000, 'x'));
  CHECK(c.item_count == 7);
  CHECK(c.index == 1);
  CHECK_FALSE(*(*r)->Next(&c));
  CHECK(std::filesystem::file_size(path) ==
        kTemplateHeaderBytes + 2 * kChunkHeaderBytes + 19 + 1000 + kTrailerBytes);
}

TEST_CASE("a file truncated anywhere is rejected with its name and offset") {
  TempDir dir;
  const std::string path = dir.File("t.pb");
  WriteSample(path);
  const auto full = std::filesystem::file_size(path);
  // Cut inside the header, a chunk header, a payload, exactly at a chunk boundary and
  // inside the trailer: every cut must be detected.
  for (uint64_t keep : {uint64_t{0}, uint64_t{5}, uint64_t{20}, uint64_t{40},
                        kTemplateHeaderBytes + kChunkHeaderBytes + 19, full - 10}) {
    const std::string cut = dir.File("cut.pb");
    std::filesystem::copy_file(path, cut, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(cut, keep);
    const std::string err = ReadAllError(cut);
    INFO("kept " << keep << " bytes: " << err);
    CHECK_THAT(err, Catch::Contains(cut));
    CHECK_THAT(err, Catch::Contains("offset"));
  }
  std::filesystem::resize_file(dir.File("cut.pb"), kTemplateHeaderBytes + kChunkHeaderBytes + 19);
  CHECK_THAT(ReadAllError(dir.File("cut.pb")),
             Catch::Contains("offset 51: file ends after 1 chunk without its trailer"));
}

TEST_CASE("a flipped bit in a payload fails the chunk checksum at the chunk's offset") {
  TempDir dir;
  const std::string path = dir.File("t.pb");
  WriteSample(path);
  // Second chunk starts after the header and the first chunk record.
  const size_t second = kTemplateHeaderBytes + kChunkHeaderBytes + 19;
  Corrupt(path, second + kChunkHeaderBytes + 500, 0x10);
  const std::string err = ReadAllError(path);
  CHECK_THAT(err, Catch::Contains(path + ": offset " + std::to_string(second) +
                                  ": chunk 1 checksum mismatch"));
}

TEST_CASE("wrong magic, wrong version, empty file and huge length prefixes are named") {
  TempDir dir;
  const std::string path = dir.File("t.pb");

  testing::WriteText(path, "");
  CHECK_THAT(ReadAllError(path), Catch::Contains("empty file"));

  testing::WriteText(path, "this is not a template file at all");
  CHECK_THAT(ReadAllError(path), Catch::Contains("not a template file"));

  WriteSample(path);
  Corrupt(path, 8, 0x02);  // Version 1 -> 3.
  CHECK_THAT(ReadAllError(path), Catch::Contains("unsupported template format version 3"));

  WriteSample(path);
  Corrupt(path, kTemplateHeaderBytes + 3, 0x40);  // Length prefix -> ~1 GiB.
  CHECK_THAT(ReadAllError(path), Catch::Contains("offset 16: chunk 0 claims"));

  CHECK_THAT(ReadAllError(dir.File("missing.pb")), Catch::Contains("cannot open template file"));
}

TEST_CASE("bytes after the trailer are rejected") {
  TempDir dir;
  const std::string path = dir.File("t.pb");
  WriteSample(path);
  std::ofstream(path, std::ios::app | std::ios::binary) << "junk";
  CHECK_THAT(ReadAllError(path), Catch::Contains("unexpected bytes after the trailer"));
}

TEST_CASE("an uncommitted writer leaves no file under the final name") {
  TempDir dir;
  const std::string path = dir.File("t.pb");
  {
    auto w = TemplateWriter::Create(path, Signal::kTraces);
    REQUIRE(w.ok());
    REQUIRE((*w)->Append("payload", 1).ok());
  }  // Destroyed without Commit, as on an error or exception.
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::filesystem::is_empty(dir.path()));  // No temporary left either.
}

TEST_CASE("writing into a missing directory fails naming the directory") {
  TempDir dir;
  auto w = TemplateWriter::Create(dir.File("no/such/dir/t.pb"), Signal::kTraces);
  REQUIRE_FALSE(w.ok());
  CHECK_THAT(std::string(w.status().message()), Catch::Contains(dir.File("no/such/dir")));
}

TEST_CASE("an existing file is replaced only when the new one is committed") {
  TempDir dir;
  const std::string path = dir.File("t.pb");
  WriteSample(path);
  const std::string before = testing::ReadText(path);
  {
    auto w = TemplateWriter::Create(path, Signal::kTraces);
    REQUIRE((*w)->Append("new", 1).ok());
  }
  CHECK(testing::ReadText(path) == before);
}

}  // namespace
}  // namespace loadgen

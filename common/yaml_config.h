// Typed, strict reading of YAML config files. Every error names the file, the line
// and column, and the full key path (e.g. `sending.rate_limit.events_per_second`), and
// says what was expected; unknown keys are errors that suggest the nearest known key.
//
// Usage: open a ConfigDoc, walk it with ConfigMap::Get*/Map calls for every key the
// schema knows (a missing key leaves the caller's default untouched), then call
// Finish() on each map to reject keys nobody asked for. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "yaml-cpp/yaml.h"

namespace loadgen {

class ConfigMap {
 public:
  // `node` must be a map or null (null reads as an empty map).
  ConfigMap(YAML::Node node, std::shared_ptr<const std::string> file, std::string path);

  absl::Status GetInt(std::string_view key, int64_t* out, int64_t min, int64_t max);
  absl::Status GetDouble(std::string_view key, double* out, double min, double max);
  absl::Status GetBool(std::string_view key, bool* out);
  // Expands ${VAR} from the environment; an unset variable is an error.
  absl::Status GetString(std::string_view key, std::string* out);
  // Accepts "500ms", "10s", "5m", "1h", "1h30m", or 0; negative durations are errors.
  absl::Status GetDuration(std::string_view key, std::chrono::nanoseconds* out);
  absl::Status GetStringList(std::string_view key, std::vector<std::string>* out);
  absl::Status GetStringMap(std::string_view key,
                            std::vector<std::pair<std::string, std::string>>* out);
  // The sub-map under `key` (empty when absent).
  absl::StatusOr<ConfigMap> Map(std::string_view key);
  // The maps in the list under `key` (empty when absent), with paths like key[2].
  absl::StatusOr<std::vector<ConfigMap>> MapList(std::string_view key);
  // A two-number list such as `delay_ms: [10, 50]`; requires min <= first <= second.
  absl::Status GetIntRange(std::string_view key, int64_t* lo, int64_t* hi, int64_t min,
                           int64_t max);
  // A map of scalars kept as written: the text, whether it was quoted, and where.
  struct ScalarEntry {
    std::string key;
    std::string text;
    bool quoted;
    std::string where;  // file:line:col: full.key.path
  };
  absl::Status GetScalarMap(std::string_view key, std::vector<ScalarEntry>* out);
  // file:line:col of `key` followed by its full path, for errors raised by callers.
  std::string Where(std::string_view key) const;
  // Fails on the first key in this map that no Get*/Map call asked for.
  absl::Status Finish() const;

  // An error about `key` (or the map itself when key is empty) at its position.
  absl::Status ErrorAt(std::string_view key, std::string_view what) const;
  bool Has(std::string_view key) const;

 private:
  YAML::Node Lookup(std::string_view key);
  std::string KeyPath(std::string_view key) const;
  std::string Where(const YAML::Node& n) const;  // file:line:col of a node
  absl::StatusOr<std::string> Scalar(std::string_view key, const YAML::Node& n,
                                     std::string_view expected) const;

  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
  std::set<std::string, std::less<>> known_;
};

// A parsed config file: the root map plus the raw text (kept for digests/echo).
class ConfigDoc {
 public:
  static absl::StatusOr<ConfigDoc> Load(const std::string& file);
  static absl::StatusOr<ConfigDoc> Parse(std::string text, const std::string& name);
  ConfigMap& root() { return *root_; }
  const std::string& text() const { return text_; }
  const std::string& file() const { return *file_; }

 private:
  std::shared_ptr<const std::string> file_;
  std::string text_;
  std::unique_ptr<ConfigMap> root_;
};

// Replaces ${VAR} with the environment variable's value; fails on an unset variable.
absl::StatusOr<std::string> ExpandEnv(std::string_view text, std::string_view what);
// The candidate closest to `word` by edit distance, else one that `word` is a word of
// (or the other way round: `delay` and `delay_ms`), or "" if none is close.
std::string NearestWord(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace loadgen

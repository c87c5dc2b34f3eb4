#include "common/yaml_config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/duration.h"
#include "common/read_file.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "fmt/ranges.h"
#include "yaml-cpp/depthguard.h"

namespace loadgen {

ConfigMap::ConfigMap(YAML::Node node, std::shared_ptr<const std::string> file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

std::string ConfigMap::KeyPath(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  return StrCat(path_, ".", key);
}

std::string ConfigMap::Where(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return *file_;
  return StrCat(*file_, ":", m.line + 1, ":", m.column + 1);
}

absl::Status ConfigMap::ErrorAt(std::string_view key, std::string_view what) const {
  YAML::Node n = node_;
  if (!key.empty() && node_.IsMap()) {
    for (const auto& kv : node_) {
      if (kv.first.Scalar() == key) {
        n = kv.second.IsNull() ? kv.first : kv.second;
        break;
      }
    }
  }
  return absl::InvalidArgumentError(StrCat(Where(n), ": ", KeyPath(key), ": ", what));
}

bool ConfigMap::Has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)].IsDefined();
}

YAML::Node ConfigMap::Lookup(std::string_view key) {
  known_.emplace(key);
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

absl::StatusOr<std::string> ConfigMap::Scalar(std::string_view key, const YAML::Node& n,
                                              std::string_view expected) const {
  if (!n.IsScalar()) {
    return ErrorAt(key, StrCat("expected ", expected, ", got a ",
                               n.IsMap()        ? "map"
                               : n.IsSequence() ? "list"
                                                : "null value"));
  }
  return n.Scalar();
}

absl::Status ConfigMap::GetInt(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return absl::OkStatus();
  auto s = Scalar(key, n, "an integer");
  if (!s.ok()) return s.status();
  int64_t v;
  if (!ParseInt64(*s, &v)) {
    // All digits, but too many for 64 bits: out of range, not a wrong type.
    const std::string_view digits = std::string_view(*s).substr(s->starts_with('-') ? 1 : 0);
    if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
      return ErrorAt(key,
                     StrCat("out of range: must be between ", min, " and ", max, ", got ", *s));
    }
    return ErrorAt(key, StrCat("expected an integer, got \"", *s, "\""));
  }
  if (v < min || v > max) {
    return ErrorAt(key, StrCat("must be between ", min, " and ", max, ", got ", v));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ConfigMap::GetDouble(std::string_view key, double* out, double min, double max) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return absl::OkStatus();
  auto s = Scalar(key, n, "a number");
  if (!s.ok()) return s.status();
  double v;
  if (!ParseDouble(*s, &v) || !std::isfinite(v)) {
    return ErrorAt(key, StrCat("expected a number, got \"", *s, "\""));
  }
  if (v < min || v > max) {
    return ErrorAt(key, StrCat("must be between ", min, " and ", max, ", got ", *s));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ConfigMap::GetBool(std::string_view key, bool* out) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return absl::OkStatus();
  auto s = Scalar(key, n, "true or false");
  if (!s.ok()) return s.status();
  if (*s == "true") {
    *out = true;
  } else if (*s == "false") {
    *out = false;
  } else {
    return ErrorAt(key, StrCat("expected true or false, got \"", *s, "\""));
  }
  return absl::OkStatus();
}

absl::Status ConfigMap::GetString(std::string_view key, std::string* out) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return absl::OkStatus();
  auto s = Scalar(key, n, "a string");
  if (!s.ok()) return s.status();
  auto expanded = ExpandEnv(*s, StrCat(Where(n), ": ", KeyPath(key)));
  if (!expanded.ok()) return expanded.status();
  *out = *std::move(expanded);
  return absl::OkStatus();
}

absl::Status ConfigMap::GetDuration(std::string_view key, std::chrono::nanoseconds* out) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return absl::OkStatus();
  auto s = Scalar(key, n, "a duration such as 10s");
  if (!s.ok()) return s.status();
  auto d = ParseDuration(*s, StrCat(Where(n), ": ", KeyPath(key)));
  if (!d.ok()) return d.status();
  *out = *d;
  return absl::OkStatus();
}

absl::Status ConfigMap::GetStringList(std::string_view key, std::vector<std::string>* out) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return absl::OkStatus();
  if (!n.IsSequence()) return ErrorAt(key, "expected a list of strings");
  std::vector<std::string> v;
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      return absl::InvalidArgumentError(
          StrCat(Where(item), ": ", KeyPath(key), ": expected a string list item"));
    }
    v.push_back(item.Scalar());
  }
  *out = std::move(v);
  return absl::OkStatus();
}

absl::Status ConfigMap::GetStringMap(std::string_view key,
                                     std::vector<std::pair<std::string, std::string>>* out) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return absl::OkStatus();
  if (!n.IsMap()) return ErrorAt(key, "expected a map of strings");
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    if (!kv.second.IsScalar()) {
      return absl::InvalidArgumentError(
          StrCat(Where(kv.second), ": ", KeyPath(key), ".", k, ": expected a string"));
    }
    // Values may hold secrets; the error names the key, never the value.
    auto expanded =
        ExpandEnv(kv.second.Scalar(), StrCat(Where(kv.second), ": ", KeyPath(key), ".", k));
    if (!expanded.ok()) return expanded.status();
    v.emplace_back(k, *std::move(expanded));
  }
  *out = std::move(v);
  return absl::OkStatus();
}

absl::StatusOr<ConfigMap> ConfigMap::Map(std::string_view key) {
  YAML::Node n = Lookup(key);
  if (n.IsDefined() && !n.IsNull() && !n.IsMap()) {
    return ErrorAt(key, "expected a map of settings");
  }
  return ConfigMap(n.IsDefined() ? n : YAML::Node(), file_, KeyPath(key));
}

absl::StatusOr<std::vector<ConfigMap>> ConfigMap::MapList(std::string_view key) {
  YAML::Node n = Lookup(key);
  std::vector<ConfigMap> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) return ErrorAt(key, "expected a list");
  int i = 0;
  for (const auto& item : n) {
    const std::string path = StrCat(KeyPath(key), "[", i++, "]");
    if (!item.IsMap()) {
      return absl::InvalidArgumentError(StrCat(Where(item), ": ", path, ": expected a map"));
    }
    out.emplace_back(item, file_, path);
  }
  return out;
}

absl::Status ConfigMap::GetIntRange(std::string_view key, int64_t* lo, int64_t* hi, int64_t min,
                                    int64_t max) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined()) return absl::OkStatus();
  const std::string expected = StrCat("a list [min, max] of whole numbers in ", min, "..", max);
  if (!n.IsSequence() || n.size() != 2 || !n[0].IsScalar() || !n[1].IsScalar()) {
    return ErrorAt(key, StrCat("expected ", expected));
  }
  int64_t a, b;
  if (!ParseInt64(n[0].Scalar(), &a) || !ParseInt64(n[1].Scalar(), &b) || a < min || b > max ||
      a > b) {
    return ErrorAt(key, StrCat("expected ", expected, " with min <= max, got [", n[0].Scalar(),
                               ", ", n[1].Scalar(), "]"));
  }
  *lo = a;
  *hi = b;
  return absl::OkStatus();
}

absl::Status ConfigMap::GetScalarMap(std::string_view key, std::vector<ScalarEntry>* out) {
  YAML::Node n = Lookup(key);
  if (!n.IsDefined() || n.IsNull()) return absl::OkStatus();
  if (!n.IsMap()) return ErrorAt(key, "expected a map of key: value");
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    const std::string path = StrCat(KeyPath(key), ".", k);
    if (!kv.second.IsScalar()) {
      return absl::InvalidArgumentError(
          StrCat(Where(kv.second), ": ", path, ": expected a single value, not a list or map"));
    }
    // yaml-cpp tags quoted scalars "!" and plain ones "?".
    out->push_back(
        {k, kv.second.Scalar(), kv.second.Tag() == "!", StrCat(Where(kv.second), ": ", path)});
  }
  return absl::OkStatus();
}

std::string ConfigMap::Where(std::string_view key) const {
  // No YAML::Node is assigned to here: assigning to a Node that refers to another
  // rebinds the one it refers to (yaml-cpp's reference semantics), which would replace
  // this map's node with the value.
  if (node_.IsMap()) {
    for (const auto& kv : node_) {
      if (kv.first.Scalar() == key) {
        return StrCat(Where(kv.second.IsNull() ? kv.first : kv.second), ": ", KeyPath(key));
      }
    }
  }
  return StrCat(Where(node_), ": ", KeyPath(key));
}

absl::Status ConfigMap::Finish() const {
  if (!node_.IsMap()) return absl::OkStatus();
  for (const auto& kv : node_) {
    const std::string& k = kv.first.Scalar();
    if (known_.count(k)) continue;
    std::vector<std::string> cands(known_.begin(), known_.end());
    std::string near = NearestWord(k, cands);
    std::string msg = StrCat(Where(kv.first), ": unknown key '", KeyPath(k), "'");
    if (!near.empty()) {
      StrAppend(&msg, "; did you mean '", near, "'?");
    } else {
      StrAppend(&msg, "; known keys here: ", fmt::format("{}", fmt::join(cands, ", ")));
    }
    return absl::InvalidArgumentError(msg);
  }
  return absl::OkStatus();
}

namespace {

// Aliases make a YAML document a graph: an alias inside its own anchor is a cycle
// that every reader walking the tree would follow forever, and aliases of aliases
// expand exponentially ("billion laughs"). Both are refused here, once, for every
// config and scenario file, before anyone walks the tree.
constexpr int kMaxConfigDepth = 64;
constexpr int64_t kMaxConfigNodes = 1'000'000;

absl::Status CheckShape(const YAML::Node& node, const std::string& file,
                        std::vector<YAML::Node>* path, int64_t* nodes) {
  auto at = [&](const YAML::Node& n) {
    return StrCat(file, ":", n.Mark().line + 1, ":", n.Mark().column + 1, ": ");
  };
  for (const YAML::Node& outer : *path) {
    if (outer.is(node)) {
      return absl::InvalidArgumentError(
          StrCat(at(path->back()), "an alias refers back to its own anchor (at line ",
                 outer.Mark().line + 1, "): the document would be infinite"));
    }
  }
  if (++*nodes > kMaxConfigNodes) {
    return absl::InvalidArgumentError(StrCat(at(node), "the document expands to more than ",
                                             kMaxConfigNodes, " nodes through its aliases"));
  }
  if (!node.IsMap() && !node.IsSequence()) return absl::OkStatus();
  if (static_cast<int>(path->size()) >= kMaxConfigDepth) {
    return absl::InvalidArgumentError(
        StrCat(at(node), "nested deeper than ", kMaxConfigDepth, " levels"));
  }
  path->push_back(node);
  for (const auto& item : node) {
    // A map yields key/value pairs, a sequence its elements.
    for (const YAML::Node& child : node.IsMap() ? std::vector<YAML::Node>{item.first, item.second}
                                                : std::vector<YAML::Node>{item}) {
      RETURN_IF_ERROR(CheckShape(child, file, path, nodes));
    }
  }
  path->pop_back();
  return absl::OkStatus();
}

absl::Status CheckShape(const YAML::Node& root, const std::string& file) {
  std::vector<YAML::Node> path;
  int64_t nodes = 0;
  return CheckShape(root, file, &path, &nodes);
}

}  // namespace

absl::StatusOr<ConfigDoc> ConfigDoc::Load(const std::string& file) {
  auto text = ReadFile(file);
  if (!text.ok()) {
    return absl::Status(text.status().code(), StrCat("config file: ", text.status().message()));
  }
  return Parse(*std::move(text), file);
}

absl::StatusOr<ConfigDoc> ConfigDoc::Parse(std::string text, const std::string& name) {
  ConfigDoc doc;
  doc.file_ = std::make_shared<const std::string>(name);
  doc.text_ = std::move(text);
  YAML::Node root;
  try {
    root = YAML::Load(doc.text_);
  } catch (const YAML::DeepRecursion& e) {
    return absl::InvalidArgumentError(StrCat(name, ":", e.mark.line + 1, ":", e.mark.column + 1,
                                             ": invalid YAML: nested too deep for the parser (",
                                             e.depth() - 1, " levels; the limit is ",
                                             kMaxConfigDepth, ")"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        StrCat(name, ":", e.mark.line + 1, ":", e.mark.column + 1, ": invalid YAML: ", e.msg));
  }
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    return absl::InvalidArgumentError(
        StrCat(name, ": expected a map of settings at the top level"));
  }
  RETURN_IF_ERROR(CheckShape(root, name));
  doc.root_ = std::make_unique<ConfigMap>(root, doc.file_, "");
  return doc;
}

absl::StatusOr<std::string> ExpandEnv(std::string_view text, std::string_view what) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError(StrCat(what, ": unterminated ${ in value"));
      }
      std::string name(text.substr(i + 2, close - i - 2));
      const char* v = std::getenv(name.c_str());
      if (v == nullptr) {
        return absl::InvalidArgumentError(
            StrCat(what, ": environment variable ", name, " is not set"));
      }
      out += v;
      i = close + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string NearestWord(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    std::vector<size_t> prev(c.size() + 1), cur(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        size_t sub = prev[j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    if (prev[c.size()] < best_d) {
      best_d = prev[c.size()];
      best = c;
    }
  }
  // A typo of a candidate...
  if (best_d != std::string::npos && best_d <= std::max<size_t>(2, word.size() / 3)) return best;
  // ...or a word of one, or one of its words: `delay` for `delay_ms`, `name` for
  // `scenario_name`, `probability_pct` for `probability` (the shortest such candidate).
  auto part_of = [](std::string_view part, std::string_view whole) {
    if (part.empty() || part.size() >= whole.size()) return false;
    const bool head =
        whole.starts_with(part) && (whole[part.size()] == '_' || whole[part.size()] == '.');
    const size_t at = whole.size() - part.size();
    const bool tail = whole.ends_with(part) && (whole[at - 1] == '_' || whole[at - 1] == '.');
    return head || tail;
  };
  best.clear();
  for (const auto& c : candidates) {
    if ((part_of(word, c) || part_of(c, word)) && (best.empty() || c.size() < best.size())) {
      best = c;
    }
  }
  return best;
}

}  // namespace loadgen

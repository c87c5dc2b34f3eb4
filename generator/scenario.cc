#include "generator/scenario.h"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"

namespace loadgen {
namespace {

struct LoadContext {
  std::vector<std::string> var_names;
};

absl::Status LoadTemplates(ConfigMap& map, std::string_view key, const LoadContext& ctx,
                           bool allow_parent,
                           std::vector<std::pair<std::string, ValueTemplate>>* out) {
  std::vector<ConfigMap::ScalarEntry> entries;
  RETURN_IF_ERROR(map.GetScalarMap(key, &entries));
  for (const auto& e : entries) {
    ASSIGN_OR_RETURN(ValueTemplate t, ValueTemplate::Compile(e.text, e.quoted, e.where));
    for (const auto& part : t.parts()) {
      if (part.kind == ValueTemplate::Part::kVar &&
          std::find(ctx.var_names.begin(), ctx.var_names.end(), part.text) == ctx.var_names.end()) {
        return absl::InvalidArgumentError(StrCat(e.where, ": unknown variable vars.", part.text,
                                                 "; define it under vars: (before its use)"));
      }
      if (part.kind == ValueTemplate::Part::kParentAttr && !allow_parent) {
        return absl::InvalidArgumentError(
            StrCat(e.where, ": parent.attributes is not available here (no parent)"));
      }
    }
    out->emplace_back(e.key, std::move(t));
  }
  return absl::OkStatus();
}

absl::StatusOr<CallNode> LoadNode(ConfigMap& map, const LoadContext& ctx, bool is_root) {
  CallNode node;
  RETURN_IF_ERROR(map.GetString("service", &node.service));
  RETURN_IF_ERROR(map.GetString("operation", &node.operation));
  if (node.service.empty()) return map.ErrorAt("service", "every call needs a service");
  if (node.operation.empty()) return map.ErrorAt("operation", "every call needs an operation");
  std::string kind = "server";
  const bool has_kind = map.Has("kind");
  RETURN_IF_ERROR(map.GetString("kind", &kind));
  if (kind == "server") {
    node.kind = CallNode::Kind::kServer;
  } else if (kind == "internal") {
    node.kind = CallNode::Kind::kInternal;
  } else if (kind == "client") {
    node.kind = CallNode::Kind::kClient;
  } else if (kind == "consumer") {
    node.kind = CallNode::Kind::kConsumer;
  } else {
    return map.ErrorAt("kind",
                       StrCat("expected server, internal, client or consumer, got \"", kind, "\""));
  }
  if (is_root && has_kind && node.kind == CallNode::Kind::kClient) {
    return map.ErrorAt(
        "kind", "the root of a trace is where a request arrives: server, consumer or internal");
  }
  RETURN_IF_ERROR(map.GetIntRange("delay_ms", &node.delay_min_ms, &node.delay_max_ms, 0, 3600000));
  RETURN_IF_ERROR(map.GetIntRange("repeat", &node.repeat_min, &node.repeat_max, 0, 1000));
  if (is_root && (node.repeat_min != 1 || node.repeat_max != 1)) {
    return map.ErrorAt("repeat", "the root happens once per trace");
  }
  RETURN_IF_ERROR(map.GetBool("parallel", &node.parallel));
  RETURN_IF_ERROR(LoadTemplates(map, "attributes", ctx, !is_root, &node.attributes));
  ASSIGN_OR_RETURN(std::vector<ConfigMap> errors, map.MapList("error_conditions"));
  for (ConfigMap& e : errors) {
    ErrorCondition c;
    double pct = 0;
    RETURN_IF_ERROR(e.GetDouble("probability", &pct, 0, 100));
    RETURN_IF_ERROR(e.GetString("type", &c.type));
    RETURN_IF_ERROR(e.GetString("message", &c.message));
    RETURN_IF_ERROR(e.Finish());
    if (c.type.empty()) return e.ErrorAt("type", "an error condition needs a type");
    c.probability = pct / 100;
    node.errors.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(std::vector<ConfigMap> calls, map.MapList("calls"));
  for (ConfigMap& c : calls) {
    ASSIGN_OR_RETURN(CallNode child, LoadNode(c, ctx, false));
    node.calls.push_back(std::move(child));
  }
  RETURN_IF_ERROR(map.Finish());
  return node;
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& file) {
  ASSIGN_OR_RETURN(ConfigDoc doc, ConfigDoc::Load(file));
  ConfigMap& root = doc.root();
  Scenario s;
  s.file = file;
  s.name = std::filesystem::path(file).stem().string();
  RETURN_IF_ERROR(root.GetString("name", &s.name));
  std::string description;  // Free text for readers of the file; not part of the data.
  RETURN_IF_ERROR(root.GetString("description", &description));
  RETURN_IF_ERROR(root.GetDouble("weight", &s.weight, 0, 1e9));
  LoadContext ctx;
  std::vector<ConfigMap::ScalarEntry> vars;
  RETURN_IF_ERROR(root.GetScalarMap("vars", &vars));
  for (const auto& v : vars) {
    ASSIGN_OR_RETURN(ValueTemplate t, ValueTemplate::Compile(v.text, v.quoted, v.where));
    for (const auto& part : t.parts()) {
      if (part.kind == ValueTemplate::Part::kParentAttr) {
        return absl::InvalidArgumentError(StrCat(v.where, ": vars cannot use parent.attributes"));
      }
      if (part.kind == ValueTemplate::Part::kVar &&
          std::find(ctx.var_names.begin(), ctx.var_names.end(), part.text) == ctx.var_names.end()) {
        return absl::InvalidArgumentError(
            StrCat(v.where, ": vars.", part.text, " is not defined before this variable"));
      }
    }
    s.vars.emplace_back(v.key, std::move(t));
    ctx.var_names.push_back(v.key);
  }
  RETURN_IF_ERROR(LoadTemplates(root, "trace_attributes", ctx, false, &s.trace_attributes));
  if (!root.Has("root")) return root.ErrorAt("", "a scenario needs a root: call");
  ASSIGN_OR_RETURN(ConfigMap node, root.Map("root"));
  ASSIGN_OR_RETURN(s.root, LoadNode(node, ctx, true));
  RETURN_IF_ERROR(root.Finish());
  return s;
}

}  // namespace

absl::StatusOr<std::vector<Scenario>> LoadScenarios(const std::vector<std::string>& paths,
                                                    std::string_view where) {
  std::vector<Scenario> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
      return absl::NotFoundError(StrCat(where, ": scenario path '", path,
                                        "': ", ec ? ec.message() : "no such file or directory"));
    }
    if (std::filesystem::is_directory(status)) {
      for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end;
           it.increment(ec)) {
        const auto ext = it->path().extension();
        if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
          files.push_back(it->path().string());
        }
      }
      if (ec) {
        return absl::NotFoundError(
            StrCat(where, ": scenario directory '", path, "': ", ec.message()));
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        return absl::NotFoundError(
            StrCat(where, ": scenario directory '", path, "' holds no .yaml files"));
      }
    } else {
      files.push_back(path);
    }
    for (const std::string& f : files) {
      ASSIGN_OR_RETURN(Scenario s, LoadScenarioFile(f));
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<std::string> ScenarioServices(const std::vector<Scenario>& scenarios) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto walk = [&](auto& self, const CallNode& n) -> void {
    if (seen.insert(n.service).second) out.push_back(n.service);
    for (const CallNode& c : n.calls) self(self, c);
  };
  for (const Scenario& s : scenarios) walk(walk, s.root);
  return out;
}

}  // namespace loadgen

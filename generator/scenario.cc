#include "generator/scenario.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <unordered_set>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"
#include "fmt/format.h"

namespace loadgen {
namespace {

struct LoadContext {
  std::vector<std::string> var_names;
  ScenarioForm form = ScenarioForm::kOurs;
  const std::vector<std::string>* services = nullptr;  // From _base.yaml, when there is one.
};

bool Contains(const std::vector<std::string>& list, std::string_view x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

// Resolves the bare {{names}} of `t` (at `where`): a var, an attribute of the same span
// set before it (`own`), or one of the parent's (`parent`, null at the root).
absl::Status ResolveNames(ValueTemplate& t, const std::string& where, const LoadContext& ctx,
                          const std::vector<std::pair<std::string, ValueTemplate>>& own,
                          const std::vector<std::string>* parent) {
  return t.ResolveNames([&](const std::string& name) -> absl::StatusOr<ValueTemplate::Part::Kind> {
    if (Contains(ctx.var_names, name)) return ValueTemplate::Part::kVar;
    for (const auto& [k, v] : own) {
      if (k == name) return ValueTemplate::Part::kOwnAttr;
    }
    if (parent != nullptr && Contains(*parent, name)) return ValueTemplate::Part::kParentAttr;
    return absl::InvalidArgumentError(
        StrCat(where, ": {{", name, "}} names no var, no attribute set before it in this span",
               parent != nullptr ? " and none of its parent's" : ""));
  });
}

// `parent_keys`: the parent's attribute keys (null at the root, where parent.attributes
// is not available).
absl::Status LoadTemplates(ConfigMap& map, std::string_view key, const LoadContext& ctx,
                           const std::vector<std::string>* parent_keys,
                           std::vector<std::pair<std::string, ValueTemplate>>* out) {
  std::vector<ConfigMap::ScalarEntry> entries;
  RETURN_IF_ERROR(map.GetScalarMap(key, &entries));
  for (const auto& e : entries) {
    ASSIGN_OR_RETURN(ValueTemplate t, ValueTemplate::Compile(e.text, e.quoted, e.where));
    RETURN_IF_ERROR(ResolveNames(t, e.where, ctx, *out, parent_keys));
    for (const auto& part : t.parts()) {
      if (part.kind == ValueTemplate::Part::kVar && !Contains(ctx.var_names, part.text)) {
        return absl::InvalidArgumentError(StrCat(e.where, ": unknown variable vars.", part.text,
                                                 "; define it under vars: (before its use)"));
      }
      if (part.kind == ValueTemplate::Part::kParentAttr && parent_keys == nullptr) {
        return absl::InvalidArgumentError(
            StrCat(e.where, ": parent.attributes is not available here (no parent)"));
      }
    }
    out->emplace_back(e.key, std::move(t));
  }
  return absl::OkStatus();
}

// The kind, in either case: server, internal, client, consumer, producer.
absl::Status LoadKind(ConfigMap& map, bool is_root, const LoadContext& ctx, CallNode* node) {
  std::string kind = "server";
  const bool has_kind = map.Has("kind");
  RETURN_IF_ERROR(map.GetString("kind", &kind));
  std::string lower = kind;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::pair<const char*, CallNode::Kind> kKinds[] = {
      {"server", CallNode::Kind::kServer},     {"internal", CallNode::Kind::kInternal},
      {"client", CallNode::Kind::kClient},     {"consumer", CallNode::Kind::kConsumer},
      {"producer", CallNode::Kind::kProducer},
  };
  const auto* found = std::find_if(std::begin(kKinds), std::end(kKinds),
                                   [&](const auto& k) { return lower == k.first; });
  if (found == std::end(kKinds)) {
    return map.ErrorAt("kind", StrCat("expected server, internal, client, consumer or producer "
                                      "(or the same in upper case), got \"",
                                      kind, "\""));
  }
  node->kind = found->second;
  // The seed's files start traces where they like (a CLIENT step first); ours model a
  // request's arrival.
  if (ctx.form == ScenarioForm::kOurs && is_root && has_kind &&
      (node->kind == CallNode::Kind::kClient || node->kind == CallNode::Kind::kProducer)) {
    return map.ErrorAt(
        "kind", "the root of a trace is where a request arrives: server, consumer or internal");
  }
  return absl::OkStatus();
}

absl::Status LoadErrors(ConfigMap& map, CallNode* node) {
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
    node->errors.push_back(std::move(c));
  }
  return absl::OkStatus();
}

absl::StatusOr<CallNode> LoadNode(ConfigMap& map, const LoadContext& ctx,
                                  const std::vector<std::string>* parent_keys, bool is_root) {
  CallNode node;
  node.as_written = ctx.form != ScenarioForm::kOurs;
  RETURN_IF_ERROR(map.GetString("service", &node.service));
  RETURN_IF_ERROR(map.GetString("operation", &node.operation));
  if (node.service.empty()) return map.ErrorAt("service", "every call needs a service");
  if (node.operation.empty()) return map.ErrorAt("operation", "every call needs an operation");
  if (ctx.services != nullptr && !Contains(*ctx.services, node.service)) {
    return map.ErrorAt("service", StrCat("'", node.service, "' is not in _base.yaml's services (",
                                         fmt::format("{}", fmt::join(*ctx.services, ", ")), ")"));
  }
  RETURN_IF_ERROR(LoadKind(map, is_root, ctx, &node));
  RETURN_IF_ERROR(map.GetIntRange("delay_ms", &node.delay_min_ms, &node.delay_max_ms, 0, 3600000));
  RETURN_IF_ERROR(map.GetIntRange("repeat", &node.repeat_min, &node.repeat_max, 0, 1000));
  if (is_root && (node.repeat_min != 1 || node.repeat_max != 1)) {
    return map.ErrorAt("repeat", "the root happens once per trace");
  }
  RETURN_IF_ERROR(map.GetBool("parallel", &node.parallel));
  RETURN_IF_ERROR(LoadTemplates(map, "attributes", ctx, parent_keys, &node.attributes));
  const std::string where = map.Where("operation");
  ASSIGN_OR_RETURN(node.operation_template, ValueTemplate::Compile(node.operation, true, where));
  RETURN_IF_ERROR(ResolveNames(node.operation_template, where, ctx, node.attributes, parent_keys));
  RETURN_IF_ERROR(LoadErrors(map, &node));
  std::vector<std::string> keys;
  for (const auto& [k, v] : node.attributes) keys.push_back(k);
  ASSIGN_OR_RETURN(std::vector<ConfigMap> calls, map.MapList("calls"));
  for (ConfigMap& c : calls) {
    ASSIGN_OR_RETURN(CallNode child, LoadNode(c, ctx, &keys, false));
    node.calls.push_back(std::move(child));
  }
  RETURN_IF_ERROR(map.Finish());
  return node;
}

// vars: evaluated once per trace, in order; each may name the ones before it.
absl::Status LoadVars(ConfigMap& root, Scenario* s, LoadContext* ctx) {
  std::vector<ConfigMap::ScalarEntry> vars;
  RETURN_IF_ERROR(root.GetScalarMap("vars", &vars));
  for (const auto& v : vars) {
    ASSIGN_OR_RETURN(ValueTemplate t, ValueTemplate::Compile(v.text, v.quoted, v.where));
    RETURN_IF_ERROR(
        t.ResolveNames([&](const std::string& name) -> absl::StatusOr<ValueTemplate::Part::Kind> {
          if (Contains(ctx->var_names, name)) return ValueTemplate::Part::kVar;
          return absl::InvalidArgumentError(
              StrCat(v.where, ": {{", name, "}} is not a variable defined before this one"));
        }));
    for (const auto& part : t.parts()) {
      if (part.kind == ValueTemplate::Part::kParentAttr) {
        return absl::InvalidArgumentError(StrCat(v.where, ": vars cannot use parent.attributes"));
      }
      if (part.kind == ValueTemplate::Part::kVar && !Contains(ctx->var_names, part.text)) {
        return absl::InvalidArgumentError(
            StrCat(v.where, ": vars.", part.text, " is not defined before this variable"));
      }
    }
    s->vars.emplace_back(v.key, std::move(t));
    ctx->var_names.push_back(v.key);
  }
  return absl::OkStatus();
}

// The seed's flat form: each step is called by the one before it.
absl::StatusOr<CallNode> LoadSteps(ConfigMap& root, const LoadContext& ctx) {
  ASSIGN_OR_RETURN(std::vector<ConfigMap> steps, root.MapList("steps"));
  if (steps.empty()) return root.ErrorAt("steps", "a scenario needs at least one step");
  std::vector<CallNode> nodes;
  std::vector<std::string> keys;
  for (size_t i = 0; i < steps.size(); ++i) {
    ASSIGN_OR_RETURN(CallNode n, LoadNode(steps[i], ctx, i == 0 ? nullptr : &keys, i == 0));
    keys.clear();
    for (const auto& [k, v] : n.attributes) keys.push_back(k);
    nodes.push_back(std::move(n));
  }
  for (size_t i = nodes.size() - 1; i > 0; --i) nodes[i - 1].calls.push_back(std::move(nodes[i]));
  return std::move(nodes[0]);
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& file,
                                          const std::vector<std::string>* services) {
  ASSIGN_OR_RETURN(ConfigDoc doc, ConfigDoc::Load(file));
  ConfigMap& root = doc.root();
  Scenario s;
  s.file = file;
  s.name = std::filesystem::path(file).stem().string();
  s.form = root.Has("steps")                                    ? ScenarioForm::kSeedSteps
           : root.Has("root_span") || root.Has("scenario_name") ? ScenarioForm::kSeedNested
                                                                : ScenarioForm::kOurs;
  const bool seed = s.form != ScenarioForm::kOurs;
  if (services != nullptr) s.base_services = *services;
  RETURN_IF_ERROR(root.GetString(seed ? "scenario_name" : "name", &s.name));
  std::string description;  // Free text for readers of the file; not part of the data.
  RETURN_IF_ERROR(root.GetString("description", &description));
  RETURN_IF_ERROR(root.GetDouble("weight", &s.weight, 0, 1e9));
  LoadContext ctx;
  ctx.form = s.form;
  ctx.services = services;
  RETURN_IF_ERROR(LoadVars(root, &s, &ctx));
  RETURN_IF_ERROR(LoadTemplates(root, "trace_attributes", ctx, nullptr, &s.trace_attributes));
  if (s.form == ScenarioForm::kSeedSteps) {
    ASSIGN_OR_RETURN(s.root, LoadSteps(root, ctx));
  } else {
    const char* key = seed ? "root_span" : "root";
    if (!root.Has(key)) return root.ErrorAt("", StrCat("a scenario needs a ", key, ": call"));
    ASSIGN_OR_RETURN(ConfigMap node, root.Map(key));
    ASSIGN_OR_RETURN(s.root, LoadNode(node, ctx, nullptr, true));
  }
  RETURN_IF_ERROR(root.Finish());
  return s;
}

// The seed's _base.yaml: the services its scenarios may name.
absl::StatusOr<std::vector<std::string>> LoadBase(const std::string& file) {
  ASSIGN_OR_RETURN(ConfigDoc doc, ConfigDoc::Load(file));
  ConfigMap& root = doc.root();
  std::vector<std::string> services;
  std::string ignored;  // Versions of the seed's schema: nothing here depends on them.
  RETURN_IF_ERROR(root.GetString("schema_version", &ignored));
  RETURN_IF_ERROR(root.GetString("version", &ignored));
  RETURN_IF_ERROR(root.GetString("description", &ignored));
  RETURN_IF_ERROR(root.GetStringList("services", &services));
  RETURN_IF_ERROR(root.Finish());
  if (services.empty()) return root.ErrorAt("services", "_base.yaml lists no services");
  return services;
}

}  // namespace

absl::StatusOr<std::vector<Scenario>> LoadScenarios(const std::vector<std::string>& paths,
                                                    std::string_view where) {
  std::vector<Scenario> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    std::vector<std::string> base_services;
    bool has_base = false;
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
      // The seed's _base.yaml lists services; it is no scenario.
      const auto base = std::find_if(files.begin(), files.end(), [](const std::string& f) {
        return std::filesystem::path(f).stem() == "_base";
      });
      if (base != files.end()) {
        ASSIGN_OR_RETURN(base_services, LoadBase(*base));
        has_base = true;
        files.erase(base);
      }
      if (files.empty()) {
        return absl::NotFoundError(
            StrCat(where, ": scenario directory '", path, "' holds no .yaml files"));
      }
    } else {
      files.push_back(path);
    }
    for (const std::string& f : files) {
      ASSIGN_OR_RETURN(Scenario s, LoadScenarioFile(f, has_base ? &base_services : nullptr));
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
  for (const Scenario& s : scenarios) {
    for (const std::string& name : s.base_services) {
      if (seen.insert(name).second) out.push_back(name);
    }
    walk(walk, s.root);
  }
  return out;
}

std::string_view ScenarioFormName(ScenarioForm form) {
  switch (form) {
    case ScenarioForm::kOurs: return "our format";
    case ScenarioForm::kSeedNested: return "the seed trace generator's nested form (root_span)";
    case ScenarioForm::kSeedSteps: return "the seed trace generator's flat form (steps)";
  }
  return "";
}

}  // namespace loadgen

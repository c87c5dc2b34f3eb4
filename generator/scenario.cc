#include "generator/scenario.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <unordered_set>

#include "common/otlp_signal.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"
#include "generator/span_tree.h"

namespace loadgen {
namespace {

namespace tr = opentelemetry::proto::trace::v1;
using opentelemetry::proto::common::v1::KeyValue;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

const char* kExpressions =
    "random.int(a,b), random.float(a,b), random.uuid, random.ipv4, random.choice(a|b|c), "
    "vars.NAME or parent.attributes.KEY";

absl::StatusOr<ValueTemplate::Part> CompileExpression(std::string_view e,
                                                      const std::string& where) {
  ValueTemplate::Part p;
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat(where, ": {{", e, "}}: ", why, "; expected one of ", kExpressions));
  };
  auto args = [&](std::string_view name) -> std::optional<std::string_view> {
    if (!e.starts_with(name) || e.size() < name.size() + 2 || e[name.size()] != '(' ||
        e.back() != ')') {
      return std::nullopt;
    }
    return e.substr(name.size() + 1, e.size() - name.size() - 2);
  };
  if (auto a = args("random.int"); a || (a = args("random.float"))) {
    const bool is_int = e.starts_with("random.int");
    const size_t comma = a->find(',');
    if (comma == std::string_view::npos) return bad("needs two numbers");
    if (!ParseDouble(Trim(a->substr(0, comma)), &p.a) ||
        !ParseDouble(Trim(a->substr(comma + 1)), &p.b)) {
      return bad("needs two numbers");
    }
    if (p.a > p.b) return bad("the first number must not exceed the second");
    p.kind = is_int ? ValueTemplate::Part::kInt : ValueTemplate::Part::kFloat;
    return p;
  }
  if (auto a = args("random.choice")) {
    size_t start = 0;
    while (start <= a->size()) {
      size_t bar = a->find('|', start);
      if (bar == std::string_view::npos) bar = a->size();
      p.choices.emplace_back(Trim(a->substr(start, bar - start)));
      start = bar + 1;
    }
    p.kind = ValueTemplate::Part::kChoice;
    return p;
  }
  if (e == "random.uuid") {
    p.kind = ValueTemplate::Part::kUuid;
    return p;
  }
  if (e == "random.ipv4") {
    p.kind = ValueTemplate::Part::kIpv4;
    return p;
  }
  if (e.starts_with("vars.") && e.size() > 5) {
    p.kind = ValueTemplate::Part::kVar;
    p.text = std::string(e.substr(5));
    return p;
  }
  if (e.starts_with("parent.attributes.") && e.size() > 18) {
    p.kind = ValueTemplate::Part::kParentAttr;
    p.text = std::string(e.substr(18));
    return p;
  }
  return bad("unknown expression");
}

}  // namespace

namespace {
ValueTemplate::Part TextPart(std::string text) {
  ValueTemplate::Part p;
  p.kind = ValueTemplate::Part::kText;
  p.text = std::move(text);
  return p;
}
}  // namespace

absl::StatusOr<ValueTemplate> ValueTemplate::Compile(const std::string& text, bool quoted,
                                                     const std::string& where) {
  ValueTemplate t;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == std::string::npos) {
      t.parts_.push_back(TextPart(text.substr(i)));
      break;
    }
    if (open > i) t.parts_.push_back(TextPart(text.substr(i, open - i)));
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(StrCat(where, ": unterminated {{ in \"", text, "\""));
    }
    ASSIGN_OR_RETURN(
        Part p,
        CompileExpression(Trim(std::string_view(text).substr(open + 2, close - open - 2)), where));
    t.parts_.push_back(std::move(p));
    i = close + 2;
  }
  // A lone number expression, or an unquoted number or boolean, keeps its type.
  if (t.parts_.size() == 1 && t.parts_[0].kind == Part::kInt) t.type_ = Type::kInt;
  if (t.parts_.size() == 1 && t.parts_[0].kind == Part::kFloat) t.type_ = Type::kDouble;
  if (t.parts_.size() == 1 &&
      (t.parts_[0].kind == Part::kVar || t.parts_[0].kind == Part::kParentAttr)) {
    t.type_ = Type::kRef;
  }
  if (!quoted && t.parts_.size() == 1 && t.parts_[0].kind == Part::kText) {
    int64_t iv;
    double dv;
    if (ParseInt64(text, &iv)) {
      t.type_ = Type::kInt;
    } else if (ParseDouble(text, &dv)) {
      t.type_ = Type::kDouble;
    } else if (text == "true" || text == "false") {
      t.type_ = Type::kBool;
    }
  }
  return t;
}

std::vector<std::string> ValueTemplate::VarNames() const {
  std::vector<std::string> out;
  for (const Part& p : parts_) {
    if (p.kind == Part::kVar) out.push_back(p.text);
  }
  return out;
}

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

// ---------------------------------------------------------------------------------------
// Building traces.

// A scenario span: its link is kWire for the CLIENT (or PRODUCER) span wrapping one
// remote call, and its parallelism is the scenario's.
using Link = SpanTreeNode::Link;

struct ScenarioRunner::Built : SpanTreeNode {
  int service = 0;
  tr::Span::SpanKind kind = tr::Span::SPAN_KIND_SERVER;
  std::string name;
  std::vector<std::pair<std::string, opentelemetry::proto::common::v1::AnyValue>> attrs;
  const ErrorCondition* error = nullptr;
  bool wire_client() const { return link == Link::kWire; }
};

ScenarioRunner::ScenarioRunner(const std::vector<std::string>& services, Rng& rng)
    : services_(services), rng_(rng) {}

ScenarioRunner::Value ScenarioRunner::Eval(const ValueTemplate& t, const Values& vars,
                                           const Values* parent) {
  Value out{"", t.type_ == ValueTemplate::Type::kRef ? ValueTemplate::Type::kString : t.type_};
  auto lookup = [&](const Values& in, const std::string& key) {
    for (const auto& [k, v] : in) {
      if (k == key) {
        out.text += v.text;
        if (t.type_ == ValueTemplate::Type::kRef) out.type = v.type;
      }
    }
  };
  for (const auto& p : t.parts()) {
    switch (p.kind) {
      case ValueTemplate::Part::kText: out.text += p.text; break;
      case ValueTemplate::Part::kInt:
        StrAppend(&out.text, rng_.Range(static_cast<int64_t>(p.a), static_cast<int64_t>(p.b)));
        break;
      case ValueTemplate::Part::kFloat:
        out.text += fmt::format("{:.2f}", p.a + (p.b - p.a) * rng_.Unit());
        break;
      case ValueTemplate::Part::kUuid: {
        const uint64_t a = rng_.Next(), b = rng_.Next();
        out.text += fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF,
                                a & 0xFFF, 0x8000 | ((b >> 48) & 0x3FFF), b & 0xFFFFFFFFFFFFull);
        break;
      }
      case ValueTemplate::Part::kIpv4:
        StrAppend(&out.text, 10, ".", rng_.Below(256), ".", rng_.Below(256), ".",
                  1 + rng_.Below(254));
        break;
      case ValueTemplate::Part::kChoice: out.text += p.choices[rng_.Below(p.choices.size())]; break;
      case ValueTemplate::Part::kVar: lookup(vars, p.text); break;
      case ValueTemplate::Part::kParentAttr:
        if (parent != nullptr) lookup(*parent, p.text);
        break;
    }
  }
  return out;
}

void ScenarioRunner::SetValue(const Value& v, opentelemetry::proto::common::v1::AnyValue* out) {
  int64_t iv;
  double dv;
  switch (v.type) {
    case ValueTemplate::Type::kInt:
      if (ParseInt64(v.text, &iv)) return out->set_int_value(iv);
      break;
    case ValueTemplate::Type::kDouble:
      if (ParseDouble(v.text, &dv)) return out->set_double_value(dv);
      break;
    case ValueTemplate::Type::kBool: return out->set_bool_value(v.text == "true");
    default: break;
  }
  out->set_string_value(v.text);
}

struct ScenarioRunner::Context {
  Values vars;
  std::vector<std::pair<std::string, opentelemetry::proto::common::v1::AnyValue>> trace_attrs;
};

ScenarioRunner::Built ScenarioRunner::WireClient(const CallNode& node, const Values& attrs,
                                                 const Built& callee, int parent,
                                                 const std::vector<Built>& nodes,
                                                 const Context& ctx) {
  const Built& b = callee;
  Built client;
  client.service = nodes[parent].service;
  client.parent = parent;
  client.link = Link::kWire;
  client.error = b.error;
  const bool messaging = node.kind == CallNode::Kind::kConsumer;
  client.kind = messaging ? tr::Span::SPAN_KIND_PRODUCER : tr::Span::SPAN_KIND_CLIENT;
  const size_t space = node.operation.find(' ');
  const std::string verb = node.operation.substr(0, space);
  const bool http =
      space != std::string::npos && (verb == "GET" || verb == "POST" || verb == "PUT" ||
                                     verb == "DELETE" || verb == "PATCH" || verb == "HEAD");
  std::string destination = node.operation;
  for (const auto& [k, v] : attrs) {
    if (k == "messaging.destination.name") destination = v.text;
  }
  // Span names per the conventions: `publish {destination}` for a producer, the
  // method alone for an HTTP client without a URL template, the RPC method else.
  client.name = messaging ? StrCat("publish ", destination) : http ? verb : node.operation;
  for (const auto& [k, v] : b.attrs) {
    if (k == "http.request.method" || k.starts_with("rpc.") || k.starts_with("messaging.") ||
        k == "http.response.status_code") {
      client.attrs.emplace_back(k, v);
    }
  }
  if (!messaging) {
    opentelemetry::proto::common::v1::AnyValue host;
    host.set_string_value(node.service);
    client.attrs.emplace_back("server.address", host);
  }
  for (const auto& a : ctx.trace_attrs) client.attrs.push_back(a);
  return client;
}

void ScenarioRunner::Expand(const CallNode& node, int parent, const std::string& parent_service,
                            const Values* parent_attrs, const Context& ctx,
                            std::vector<Built>* tree) {
  std::vector<Built>& nodes = *tree;
  const int64_t times = rng_.Range(node.repeat_min, node.repeat_max);
  for (int64_t rep = 0; rep < times; ++rep) {
    Values attrs;
    Built b;
    b.service = ServiceIndex(node.service);
    b.name = node.operation;
    b.parallel = node.parallel;
    for (const auto& [k, t] : node.attributes) {
      attrs.emplace_back(k, Eval(t, ctx.vars, parent_attrs));
      b.attrs.emplace_back(k, opentelemetry::proto::common::v1::AnyValue());
      SetValue(attrs.back().second, &b.attrs.back().second);
    }
    for (const auto& a : ctx.trace_attrs) b.attrs.push_back(a);
    for (const ErrorCondition& e : node.errors) {
      if (rng_.Chance(e.probability)) {
        b.error = &e;
        break;
      }
    }
    switch (node.kind) {
      case CallNode::Kind::kServer: b.kind = tr::Span::SPAN_KIND_SERVER; break;
      case CallNode::Kind::kInternal: b.kind = tr::Span::SPAN_KIND_INTERNAL; break;
      case CallNode::Kind::kClient: b.kind = tr::Span::SPAN_KIND_CLIENT; break;
      case CallNode::Kind::kConsumer: b.kind = tr::Span::SPAN_KIND_CONSUMER; break;
    }
    const bool remote =
        parent >= 0 && node.service != parent_service &&
        (node.kind == CallNode::Kind::kServer || node.kind == CallNode::Kind::kConsumer);
    int attach = parent;
    if (remote) {
      nodes.push_back(WireClient(node, attrs, b, parent, nodes, ctx));
      attach = static_cast<int>(nodes.size()) - 1;
      nodes[parent].children.push_back(attach);
    }
    b.parent = attach;
    b.self_ns = rng_.Range(node.delay_min_ms * 1000, node.delay_max_ms * 1000) * 1000;
    nodes.push_back(std::move(b));
    const int me = static_cast<int>(nodes.size()) - 1;
    if (attach >= 0) nodes[attach].children.push_back(me);
    for (const CallNode& c : node.calls) Expand(c, me, node.service, &attrs, ctx, tree);
  }
}

tr::Span ScenarioRunner::Emit(const std::vector<Built>& nodes, size_t i, const SpanTreeIds& ids) {
  const Built& n = nodes[i];
  tr::Span span;
  StampSpan(ids, n, i, &span);
  span.set_name(n.name);
  span.set_kind(n.kind);
  const bool remote_parent = n.parent >= 0 && nodes[n.parent].wire_client();
  span.set_flags(0x101 | (remote_parent ? 0x200 : 0));
  bool has_status_code = false;
  for (auto& [k, v] : n.attrs) {
    KeyValue* kv = span.add_attributes();
    kv->set_key(k);
    if (n.error != nullptr && k == "http.response.status_code") {
      kv->mutable_value()->set_int_value(500);  // The status code agrees with the error.
      has_status_code = true;
    } else {
      *kv->mutable_value() = v;
    }
  }
  if (n.error != nullptr) {
    span.mutable_status()->set_code(tr::Status::STATUS_CODE_ERROR);
    span.mutable_status()->set_message(n.error->message);
    KeyValue* et = span.add_attributes();
    et->set_key("error.type");
    et->mutable_value()->set_string_value(has_status_code ? "500" : n.error->type);
    if (!n.wire_client()) {
      auto* ev = span.add_events();
      ev->set_name("exception");
      ev->set_time_unix_nano(span.end_time_unix_nano() - std::min<int64_t>(n.dur_ns, 1000));
      KeyValue* t = ev->add_attributes();
      t->set_key("exception.type");
      t->mutable_value()->set_string_value(n.error->type);
      KeyValue* m = ev->add_attributes();
      m->set_key("exception.message");
      m->mutable_value()->set_string_value(n.error->message);
    }
  }
  return span;
}

int ScenarioRunner::ServiceIndex(const std::string& name) const {
  return static_cast<int>(std::find(services_.begin(), services_.end(), name) - services_.begin());
}

void ScenarioRunner::Build(const Scenario& scenario, std::vector<std::pair<int, tr::Span>>* out) {
  Context ctx;
  for (const auto& [k, t] : scenario.vars) ctx.vars.emplace_back(k, Eval(t, ctx.vars, nullptr));
  for (const auto& [k, t] : scenario.trace_attributes) {
    ctx.trace_attrs.emplace_back(k, opentelemetry::proto::common::v1::AnyValue());
    SetValue(Eval(t, ctx.vars, nullptr), &ctx.trace_attrs.back().second);
  }
  std::vector<Built> nodes;
  Expand(scenario.root, -1, "", nullptr, ctx, &nodes);
  // Self times were drawn as the tree grew.
  LayOutSpanTree(nodes, rng_, [](int) {});
  const SpanTreeIds ids(rng_, nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    out->emplace_back(nodes[i].service, Emit(nodes, i, ids));
}

}  // namespace loadgen

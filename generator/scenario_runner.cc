#include "generator/scenario_runner.h"

#include <algorithm>

#include "common/otlp_signal.h"
#include "common/strings.h"

namespace loadgen {

// A scenario span: its link is kWire for the CLIENT (or PRODUCER) span wrapping one
// remote call, and its parallelism is the scenario's.
using Link = SpanTreeNode::Link;

struct ScenarioRunner::Built : SpanTreeNode {
  int service = 0;
  int kind = kKindServer;
  std::string name;
  Values attrs;
  const ErrorCondition* error = nullptr;
  bool remote_parent = false;  // Its parent is in another process (written as such).
  bool wire_client() const { return link == Link::kWire; }
};

ScenarioRunner::ScenarioRunner(const Topology& topology, Rng& rng, const RootShapes& roots)
    : topology_(topology), rng_(rng), roots_(roots) {}

ScenarioRunner::Value ScenarioRunner::Eval(const ValueTemplate& t, const Values& vars,
                                           const Values* parent, const Values* own) {
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
      case ValueTemplate::Part::kIpv4: out.text += PrivateIpv4(rng_); break;
      case ValueTemplate::Part::kChoice: out.text += p.choices[rng_.Below(p.choices.size())]; break;
      case ValueTemplate::Part::kVar: lookup(vars, p.text); break;
      case ValueTemplate::Part::kParentAttr:
        if (parent != nullptr) lookup(*parent, p.text);
        break;
      case ValueTemplate::Part::kOwnAttr:
        if (own != nullptr) lookup(*own, p.text);
        break;
      case ValueTemplate::Part::kName: break;  // Resolved at load (scenario.cc).
    }
  }
  return out;
}

void ScenarioRunner::AddValue(std::string_view key, const Value& v, AttributeList* out) {
  int64_t iv;
  double dv;
  switch (v.type) {
    case ValueTemplate::Type::kInt:
      if (ParseInt64(v.text, &iv)) return out->Int(key, iv);
      break;
    case ValueTemplate::Type::kDouble:
      if (ParseDouble(v.text, &dv)) return out->Double(key, dv);
      break;
    case ValueTemplate::Type::kBool: return out->Bool(key, v.text == "true");
    default: break;
  }
  out->Str(key, v.text);
}

struct ScenarioRunner::Context {
  Values vars;
  Values trace_attrs;
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
  client.kind = messaging ? kKindProducer : kKindClient;
  const std::string& operation = callee.name;  // Evaluated, when it has {{...}}.
  const size_t space = operation.find(' ');
  const std::string verb = operation.substr(0, space);
  const bool http =
      space != std::string::npos && (verb == "GET" || verb == "POST" || verb == "PUT" ||
                                     verb == "DELETE" || verb == "PATCH" || verb == "HEAD");
  std::string destination = operation;
  for (const auto& [k, v] : attrs) {
    if (k == "messaging.destination.name") destination = v.text;
  }
  // Span names per the conventions: `publish {destination}` for a producer, the
  // method alone for an HTTP client without a URL template, the RPC method else.
  client.name = messaging ? StrCat("publish ", destination) : http ? verb : operation;
  for (const auto& [k, v] : b.attrs) {
    if (k == "http.request.method" || k.starts_with("rpc.") || k.starts_with("messaging.") ||
        k == "http.response.status_code") {
      client.attrs.emplace_back(k, v);
    }
  }
  if (!messaging) {
    client.attrs.emplace_back("server.address", Value{node.service, ValueTemplate::Type::kString});
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
    b.parallel = node.parallel;
    for (const auto& [k, t] : node.attributes) {
      Value v = Eval(t, ctx.vars, parent_attrs, &attrs);
      attrs.emplace_back(k, std::move(v));
      b.attrs.push_back(attrs.back());
    }
    // An operation with {{...}} in it is evaluated after the attributes it may name.
    b.name = node.operation_template.literal()
                 ? node.operation
                 : Eval(node.operation_template, ctx.vars, parent_attrs, &attrs).text;
    for (const auto& a : ctx.trace_attrs) b.attrs.push_back(a);
    for (const ErrorCondition& e : node.errors) {
      if (rng_.Chance(e.probability)) {
        b.error = &e;
        break;
      }
    }
    switch (node.kind) {
      case CallNode::Kind::kServer: b.kind = kKindServer; break;
      case CallNode::Kind::kInternal: b.kind = kKindInternal; break;
      case CallNode::Kind::kClient: b.kind = kKindClient; break;
      case CallNode::Kind::kConsumer: b.kind = kKindConsumer; break;
      case CallNode::Kind::kProducer: b.kind = kKindProducer; break;
    }
    // A node in another service is a remote call, with the caller's side added; the
    // seed's files write both sides themselves (CallNode::as_written).
    const bool remote =
        parent >= 0 && node.service != parent_service && !node.as_written &&
        (node.kind == CallNode::Kind::kServer || node.kind == CallNode::Kind::kConsumer);
    b.remote_parent = node.as_written && parent >= 0 && node.service != parent_service;
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

void ScenarioRunner::Emit(const std::vector<Built>& nodes, size_t i, const SpanTreeIds& ids,
                          SpanDraft* out) {
  const Built& n = nodes[i];
  SpanDraft& span = *out;
  StampSpan(ids, n, i, &span);
  span.name = n.name;
  span.kind = n.kind;
  const bool remote_parent = (n.parent >= 0 && nodes[n.parent].wire_client()) || n.remote_parent ||
                             (n.parent < 0 && ids.root_parent != 0);
  span.flags = 0x101 | (remote_parent ? 0x200 : 0);
  bool has_status_code = false;
  for (const auto& [k, v] : n.attrs) {
    if (n.error != nullptr && k == "http.response.status_code") {
      span.attributes.Int(k, 500);  // The status code agrees with the error.
      has_status_code = true;
    } else {
      AddValue(k, v, &span.attributes);
    }
  }
  if (n.error != nullptr) {
    span.status_code = kStatusError;
    span.status_message = n.error->message;
    span.attributes.Str("error.type", has_status_code ? "500" : n.error->type);
    if (!n.wire_client()) {
      span.AddEvent("exception", span.end_ns - std::min<int64_t>(n.dur_ns, 1000),
                    {"exception.type", n.error->type, "exception.message", n.error->message});
    }
  }
}

int ScenarioRunner::ServiceIndex(const std::string& name) const {
  const auto& s = topology_.services;
  return static_cast<int>(
      std::find_if(s.begin(), s.end(), [&](const Service& x) { return x.name == name; }) -
      s.begin());
}

int ScenarioRunner::ScopeOf(const std::vector<Built>& nodes, size_t i) const {
  const Built& n = nodes[i];
  auto has = [&](std::string_view prefix) {
    for (const auto& [k, v] : n.attrs) {
      if (k.starts_with(prefix)) return true;
    }
    return false;
  };
  auto value = [&](std::string_view key) -> std::string_view {
    for (const auto& [k, v] : n.attrs) {
      if (k == key) return v.text;
    }
    return "";
  };
  const Service& svc = topology_.services[n.service];
  const bool server = n.kind == kKindServer || n.kind == kKindConsumer;
  if (has("messaging.")) return LibraryScope(svc, Library::kMessaging);
  if (has("rpc.")) return LibraryScope(svc, server ? Library::kGrpcServer : Library::kGrpcClient);
  if (has("http.")) return LibraryScope(svc, server ? Library::kHttpServer : Library::kHttpClient);
  if (has("db.")) {
    const std::string_view system =
        value("db.system.name").empty() ? value("db.system") : value("db.system.name");
    return LibraryScope(
        svc, system == "redis" || system == "memcached" ? Library::kCache : Library::kDatabase);
  }
  return ManualScope(topology_, n.service);
}

void ScenarioRunner::Build(const Scenario& scenario, TraceDraft* out) {
  Context ctx;
  for (const auto& [k, t] : scenario.vars) ctx.vars.emplace_back(k, Eval(t, ctx.vars, nullptr));
  for (const auto& [k, t] : scenario.trace_attributes) {
    ctx.trace_attrs.emplace_back(k, Eval(t, ctx.vars, nullptr));
  }
  std::vector<Built> nodes;
  Expand(scenario.root, -1, "", nullptr, ctx, &nodes);
  // Self times were drawn as the tree grew.
  LayOutSpanTree(nodes, rng_, [](int) {});
  const SpanTreeIds ids(rng_, nodes.size(), roots_);
  for (size_t i = 0; i < nodes.size(); ++i) {
    Emit(nodes, i, ids, &out->Start(nodes[i].service, ScopeOf(nodes, i)));
    out->Finish();
  }
}

}  // namespace loadgen

#include "generator/scenario_runner.h"

#include <algorithm>

#include "common/otlp_signal.h"
#include "common/strings.h"

namespace loadgen {

namespace tr = opentelemetry::proto::trace::v1;
using opentelemetry::proto::common::v1::KeyValue;

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

#include "generator/traces.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/otlp_signal.h"
#include "common/strings.h"
#include "generator/span_tree.h"

namespace loadgen {
namespace {

using Link = SpanTreeNode::Link;

enum class NodeRole { kServer, kHttpClient, kDb, kCache, kInternal, kProducer, kConsumer };

struct Node : SpanTreeNode {
  // A span with two children or more runs them in parallel 30% of the time.
  Node() { parallel_chance = 0.3; }
  int service = 0;
  NodeRole role = NodeRole::kServer;
  const Operation* op = nullptr;
  int callee = -1;                     // For kHttpClient and kProducer: the service called.
  const std::string* topic = nullptr;  // For kProducer and kConsumer.
  bool error = false;
};

void Str(SpanDraft* s, std::string_view k, std::string_view v) { s->attributes.Str(k, v); }
void Int(SpanDraft* s, std::string_view k, int64_t v) { s->attributes.Int(k, v); }

std::string FillRoute(const std::string& route, Rng& rng) {
  auto pos = route.find("{id}");
  if (pos == std::string::npos) return route;
  return StrCat(route.substr(0, pos), 1000 + rng.Below(90000), route.substr(pos + 4));
}

// The shape: a root server span in an ingress service, grown to `span_count` spans
// by calls downstream (a client span here and a server span there), messages (producer
// and consumer) and local work. Children always come after their parent.
std::vector<Node> GrowTree(const Topology& topology, Rng& rng, int span_count) {
  const auto& services = topology.services;
  std::vector<Node> nodes;
  nodes.reserve(span_count);
  std::vector<int> expandable;  // Nodes that may get children: server and internal spans.

  Node root;
  root.service = topology.ingress[rng.Below(topology.ingress.size())];
  root.role = NodeRole::kServer;
  root.op = &services[root.service].server_ops[rng.Below(services[root.service].server_ops.size())];
  nodes.push_back(root);
  expandable.push_back(0);

  while (static_cast<int>(nodes.size()) < span_count) {
    const int p = expandable[rng.Below(expandable.size())];
    const Service& svc = services[nodes[p].service];
    const int room = span_count - static_cast<int>(nodes.size());
    // 70% of children go downstream (a CLIENT span here plus the SERVER span in the
    // callee, or a PRODUCER span here and a CONSUMER span there); the rest stay in the
    // same service.
    const size_t edges = svc.downstream.size() + svc.publishes_to.size();
    if (room >= 2 && edges > 0 && rng.Chance(0.7)) {
      const size_t edge = rng.Below(edges);
      const bool messaging = edge >= svc.downstream.size();
      Node client;
      client.service = nodes[p].service;
      client.parent = p;
      if (messaging) {
        const auto& [callee, topic] = svc.publishes_to[edge - svc.downstream.size()];
        client.role = NodeRole::kProducer;
        client.link = Link::kMessage;
        client.callee = callee;
        client.topic = &topic;
        client.op = &svc.local_ops.back();  // Internal work: only its timing is used.
      } else {
        client.role = NodeRole::kHttpClient;
        client.link = Link::kWire;
        client.callee = svc.downstream[edge];
        const Service& callee = services[client.callee];
        client.op = &callee.server_ops[rng.Below(callee.server_ops.size())];
      }
      nodes.push_back(client);
      const int ci = static_cast<int>(nodes.size()) - 1;
      nodes[p].children.push_back(ci);
      Node server;
      server.service = client.callee;
      server.parent = ci;
      if (messaging) {
        server.role = NodeRole::kConsumer;
        server.topic = client.topic;
        server.op = &services[client.callee].local_ops.back();
      } else {
        server.role = NodeRole::kServer;
        server.op = client.op;
        server.error = rng.Chance(client.op->error_rate);
      }
      nodes.push_back(server);
      const int si = ci + 1;
      nodes[ci].children.push_back(si);
      nodes[ci].error = server.error;
      expandable.push_back(si);
    } else {
      Node local;
      local.service = nodes[p].service;
      local.parent = p;
      local.op = &svc.local_ops[rng.Below(svc.local_ops.size())];
      local.role = local.op->kind == OperationKind::kDbQuery    ? NodeRole::kDb
                   : local.op->kind == OperationKind::kCacheGet ? NodeRole::kCache
                                                                : NodeRole::kInternal;
      nodes.push_back(local);
      const int li = static_cast<int>(nodes.size()) - 1;
      nodes[p].children.push_back(li);
      if (local.role == NodeRole::kInternal) expandable.push_back(li);
    }
  }

  return nodes;
}

// A server span, by the gRPC or HTTP semantic conventions; `path` is the request's.
void DescribeServer(const Node& n, const Service& svc, const std::string& path, Rng& rng,
                    SpanDraft& span) {
  span.kind = kKindServer;
  span.name = n.op->name;
  if (n.op->kind == OperationKind::kGrpcServer) {
    Str(&span, "rpc.system.name", "grpc");
    Str(&span, "rpc.method", n.op->name);
    Str(&span, "rpc.response.status_code", n.error ? "UNAVAILABLE" : "OK");
    Str(&span, "server.address", svc.host);
    Int(&span, "server.port", svc.port);
    return;
  }
  const int code = n.error ? 500 : (n.op->method == "POST" ? 201 : 200);
  Str(&span, "http.request.method", n.op->method);
  Str(&span, "url.path", path);
  Str(&span, "url.scheme", "http");
  Str(&span, "http.route", n.op->route);
  Int(&span, "http.response.status_code", code);
  Str(&span, "server.address", svc.host);
  Int(&span, "server.port", svc.port);
  Str(&span, "network.protocol.version", "1.1");
  if (n.parent < 0) {
    Str(&span, "client.address", PrivateIpv4(rng));
    Str(&span, "user_agent.original",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)");
  }
}

// A Kafka producer or consumer span.
void DescribeMessaging(const Node& n, const Service& svc, SpanDraft& span) {
  const bool produce = n.role == NodeRole::kProducer;
  span.kind = produce ? kKindProducer : kKindConsumer;
  span.name = StrCat(produce ? "publish " : "process ", *n.topic);
  Str(&span, "messaging.system", "kafka");
  Str(&span, "messaging.operation.name", produce ? "publish" : "process");
  Str(&span, "messaging.operation.type", produce ? "send" : "process");
  Str(&span, "messaging.destination.name", *n.topic);
  if (produce) {
    Str(&span, "server.address", "kafka");
    Int(&span, "server.port", 9092);
  } else {
    Str(&span, "messaging.consumer.group.name", svc.name);
  }
}

// The client span of a call to another service, gRPC or HTTP.
void DescribeCall(const Node& n, const Service& callee, Rng& rng, SpanDraft& span) {
  span.kind = kKindClient;
  if (n.op->kind == OperationKind::kGrpcServer) {
    span.name = n.op->name;
    Str(&span, "rpc.system.name", "grpc");
    Str(&span, "rpc.method", n.op->name);
    Str(&span, "rpc.response.status_code", n.error ? "UNAVAILABLE" : "OK");
    Str(&span, "server.address", callee.host);
    Int(&span, "server.port", callee.port);
    return;
  }
  span.name = n.op->method;  // No url.template: the name is the method alone.
  Str(&span, "http.request.method", n.op->method);
  Str(&span, "server.address", callee.host);
  Int(&span, "server.port", callee.port);
  Str(&span, "url.full",
      StrCat("http://", callee.host, ":", callee.port, FillRoute(n.op->route, rng)));
  Int(&span, "http.response.status_code", n.error ? 500 : 200);
}

// A database (PostgreSQL) or cache (Redis) client span.
void DescribeStore(const Node& n, SpanDraft& span) {
  span.kind = kKindClient;
  span.name = n.op->name;
  if (n.role == NodeRole::kDb) {
    Str(&span, "db.system.name", "postgresql");
    Str(&span, "db.namespace", "shop");
    Str(&span, "db.collection.name", n.op->route);
    Str(&span, "db.operation.name", n.op->method);
    Str(&span, "db.query.text", n.op->statement);
    Str(&span, "server.address", "postgres");
    Int(&span, "server.port", 5432);
  } else {
    Str(&span, "db.system.name", "redis");
    Str(&span, "db.operation.name", "GET");
    Str(&span, "server.address", "redis");
    Int(&span, "server.port", 6379);
  }
}

// Kind, name and semantic-convention attributes for the node's role; returns the
// span flags (sampled, and whether the parent is remote).
uint32_t Describe(const Node& n, const std::vector<Service>& services, Rng& rng,
                  SpanDraft* out_span) {
  SpanDraft& span = *out_span;
  const Service& svc = services[n.service];
  uint32_t flags = 0x01 | 0x100;
  const std::string path =
      n.op->kind == OperationKind::kHttpServer ? FillRoute(n.op->route, rng) : "";
  switch (n.role) {
    case NodeRole::kServer:
      if (n.parent >= 0) flags |= 0x200;
      DescribeServer(n, svc, path, rng, span);
      break;
    case NodeRole::kConsumer:
      if (n.parent >= 0) flags |= 0x200;
      DescribeMessaging(n, svc, span);
      break;
    case NodeRole::kProducer: DescribeMessaging(n, svc, span); break;
    case NodeRole::kHttpClient: DescribeCall(n, services[n.callee], rng, span); break;
    case NodeRole::kDb:
    case NodeRole::kCache: DescribeStore(n, span); break;
    case NodeRole::kInternal:
      span.kind = kKindInternal;
      span.name = n.op->name;
      break;
  }
  return flags;
}

// A failing span: its status, error.type and, on a server, the exception event.
void MarkError(const Node& n, SpanDraft* out_span) {
  SpanDraft& span = *out_span;
  if (n.error) {
    span.status_code = kStatusError;
    Str(&span, "error.type", n.op->kind == OperationKind::kGrpcServer ? "UNAVAILABLE" : "500");
    if (n.role == NodeRole::kServer) {
      span.status_message = "Internal Server Error";
      span.AddEvent("exception", span.end_ns - 1000,
                    {"exception.type", "UpstreamTimeoutError", "exception.message",
                     "upstream request timed out"});
    }
  }
}

// The instrumentation scope of the library that made the node's span.
int ScopeOf(const Topology& topology, const Node& n) {
  const Service& svc = topology.services[n.service];
  const bool grpc = n.op->kind == OperationKind::kGrpcServer;
  switch (n.role) {
    case NodeRole::kServer:
      return LibraryScope(svc, grpc ? Library::kGrpcServer : Library::kHttpServer);
    case NodeRole::kHttpClient:
      return LibraryScope(svc, grpc ? Library::kGrpcClient : Library::kHttpClient);
    case NodeRole::kDb: return LibraryScope(svc, Library::kDatabase);
    case NodeRole::kCache: return LibraryScope(svc, Library::kCache);
    case NodeRole::kProducer:
    case NodeRole::kConsumer: return LibraryScope(svc, Library::kMessaging);
    case NodeRole::kInternal: break;
  }
  return ManualScope(topology, n.service);
}

}  // namespace

int TraceBuilder::DrawSpanCount() {
  double v = rng_.Normal(config_.spans_avg_per_trace, config_.spans_std_dev);
  return std::max(1, static_cast<int>(std::lround(v)));
}

void TraceBuilder::Build(int span_count, TraceDraft* out) {
  std::vector<Node> nodes = GrowTree(topology_, rng_, span_count);
  LayOutSpanTree(nodes, rng_, [&](int i) {
    nodes[i].self_ns =
        rng_.Range(nodes[i].op->self_time_min_us, nodes[i].op->self_time_max_us) * 1000;
  });
  const SpanTreeIds ids(rng_, nodes.size(), config_.roots);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    SpanDraft& span = out->Start(n.service, ScopeOf(topology_, n));
    StampSpan(ids, n, i, &span);
    span.flags = Describe(n, topology_.services, rng_, &span);
    if (n.parent < 0 && ids.root_parent != 0) span.flags |= 0x200;  // Its parent was remote.
    MarkError(n, &span);
    out->Finish();
  }
}

}  // namespace loadgen

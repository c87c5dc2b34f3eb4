#include "generator/topology.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"

namespace loadgen {
namespace {

constexpr const char* kDefaultServiceNames[] = {"frontend",
                                                "checkout",
                                                "cart",
                                                "product-catalog",
                                                "payment",
                                                "shipping",
                                                "currency",
                                                "email",
                                                "recommendation",
                                                "ad",
                                                "inventory",
                                                "user",
                                                "auth",
                                                "search",
                                                "notification",
                                                "pricing",
                                                "fraud-detection",
                                                "quote"};

constexpr const char* kEntities[] = {"orders",    "users",    "products", "carts",    "payments",
                                     "shipments", "sessions", "items",    "invoices", "reviews"};

void SetString(opentelemetry::proto::common::v1::KeyValue* kv, std::string_view key,
               std::string_view value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}

std::string Uuid(Rng& rng) {
  uint64_t a = rng.Next(), b = rng.Next();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFF,
                     0x8000 | ((b >> 48) & 0x3FFF), b & 0xFFFFFFFFFFFFull);
}

// The service's HTTP entry points: 1 to 3 routes on its entity, each with an error
// rate around the configured one (some flaky, most solid).
std::vector<Operation> HttpOperations(const std::string& service, const char* entity,
                                      double error_rate, Rng& rng) {
  std::vector<Operation> ops;
  const int routes = 1 + static_cast<int>(rng.Below(3));
  static constexpr const char* kMethods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
  for (int r = 0; r < routes; ++r) {
    Operation op;
    op.kind = OperationKind::kHttpServer;
    op.method = kMethods[rng.Below(std::size(kMethods))];
    op.route = (op.method == "POST") ? StrCat("/api/", entity) : StrCat("/api/", entity, "/{id}");
    if (r == 1) op.route = StrCat("/api/", service, "/", entity);
    op.name = StrCat(op.method, " ", op.route);
    op.self_time_min_us = 200;
    op.self_time_max_us = 3000;
    static constexpr double kErrorFactor[] = {0, 0.25, 0.5, 1, 1, 2, 4};
    op.error_rate = std::min(1.0, error_rate * kErrorFactor[rng.Below(std::size(kErrorFactor))]);
    ops.push_back(op);
  }
  return ops;
}

// Turns the entry points into RPC methods of one gRPC service named after the service
// ("product-catalog" serves shop.ProductCatalogService/GetProduct, ...).
void MakeGrpc(const std::string& service, const char* entity, Rng& rng,
              std::vector<Operation>* ops) {
  std::string svc;
  bool upper = true;
  for (char ch : service) {
    if (ch == '-') {
      upper = true;
      continue;
    }
    svc += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch;
    upper = false;
  }
  static constexpr const char* kVerbs[] = {"Get", "List", "Create", "Update"};
  std::string ent = entity;
  ent[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(ent[0])));
  for (Operation& op : *ops) {
    op.kind = OperationKind::kGrpcServer;
    op.route = StrCat("shop.", svc, "Service");
    op.method = StrCat(kVerbs[rng.Below(std::size(kVerbs))], ent);
    op.name = StrCat(op.route, "/", op.method);
  }
}

// What a service does inside a request: a database query, a cache read, and work of
// its own, on its entity.
std::vector<Operation> LocalOperations(const char* entity) {
  Operation db;
  db.kind = OperationKind::kDbQuery;
  db.route = entity;
  db.method = "SELECT";
  db.statement = StrCat("SELECT * FROM ", entity, " WHERE id = ?");
  db.name = StrCat("SELECT ", entity);
  db.self_time_min_us = 300;
  db.self_time_max_us = 8000;
  Operation cache;
  cache.kind = OperationKind::kCacheGet;
  cache.method = "GET";
  cache.name = "GET";
  cache.self_time_min_us = 50;
  cache.self_time_max_us = 600;
  Operation internal;
  internal.kind = OperationKind::kInternal;
  internal.name = StrCat("process ", entity);
  internal.self_time_min_us = 20;
  internal.self_time_max_us = 2000;
  return {db, cache, internal};
}

// The resource of one instance of the service: service, host, Kubernetes and SDK
// attributes, as the OpenTelemetry Operator and SDKs set them.
void SetResource(const std::string& ns, Rng& rng, Service* s) {
  auto* attrs = s->resource.mutable_attributes();
  SetString(attrs->Add(), "service.name", s->name);
  if (!ns.empty()) SetString(attrs->Add(), "service.namespace", ns);
  SetString(attrs->Add(), "service.version", s->version);
  SetString(attrs->Add(), "service.instance.id", Uuid(rng));
  const uint64_t pod_suffix = rng.Next() & 0xFFFFF;  // Last first, as in MakeService.
  std::string pod = fmt::format("{}-{:08x}-{:05x}", s->name, rng.Next() & 0xFFFFFFFF, pod_suffix);
  SetString(attrs->Add(), "host.name", pod);
  SetString(attrs->Add(), "deployment.environment.name", "production");
  SetString(attrs->Add(), "k8s.namespace.name", ns.empty() ? "shop" : ns);
  SetString(attrs->Add(), "k8s.pod.name", pod);
  SetString(attrs->Add(), "k8s.node.name", StrCat("node-", rng.Below(6)));
  const Runtime& rt = RuntimeAt(s->runtime);
  SetString(attrs->Add(), "telemetry.sdk.name", "opentelemetry");
  SetString(attrs->Add(), "telemetry.sdk.language", rt.language);
  SetString(attrs->Add(), "telemetry.sdk.version", rt.sdk_version);
  SetString(attrs->Add(), "process.runtime.name", rt.runtime_name);
  SetString(attrs->Add(), "process.runtime.version", rt.runtime_version);
  SetString(attrs->Add(), "process.runtime.description", rt.runtime_description);
}

Service MakeService(std::string name, bool ingress, double error_rate, int runtime,
                    const std::string& ns, Rng& rng) {
  Service s;
  s.name = std::move(name);
  s.runtime = runtime;
  // One draw per statement, as the compiler sets no order for a call's arguments; last
  // first, the order of GCC's builds before, whose datasets keep their bytes.
  const uint64_t patch = rng.Below(10);
  s.version = StrCat("1.", rng.Below(20), ".", patch);
  s.port = 8080 + static_cast<int>(rng.Below(10));
  s.host = s.name;
  s.ingress = ingress;
  const char* entity = kEntities[rng.Below(std::size(kEntities))];
  s.server_ops = HttpOperations(s.name, entity, error_rate, rng);
  // Half the services behind the entry points speak gRPC.
  if (!ingress && rng.Chance(0.5)) MakeGrpc(s.name, entity, rng, &s.server_ops);
  s.local_ops = LocalOperations(entity);
  SetResource(ns, rng, &s);
  return s;
}

}  // namespace

std::string NamespaceOf(const Topology& topology, size_t service) {
  return topology.namespaces.empty() ? std::string()
                                     : topology.namespaces[service % topology.namespaces.size()];
}

Topology BuildTopology(const GeneratorConfig& config, Rng& rng) {
  Topology t;
  t.namespaces = config.namespaces;
  const int n = static_cast<int>(config.service_count);
  constexpr int kDefaults = sizeof kDefaultServiceNames / sizeof kDefaultServiceNames[0];
  for (int i = 0; i < n; ++i) {
    std::string name;
    if (i < static_cast<int>(config.service_names.size())) {
      name = config.service_names[i];
    } else if (i < kDefaults) {
      name = kDefaultServiceNames[i];
    } else {
      name = StrCat(kDefaultServiceNames[i % kDefaults], "-", i / kDefaults);
    }
    const bool ingress = config.ingress_all ||
                         (config.ingress_names.empty()
                              ? i < std::max(1, n / 4)
                              : std::find(config.ingress_names.begin(), config.ingress_names.end(),
                                          name) != config.ingress_names.end());
    // Languages take turns, so every topology of a few services mixes them.
    t.services.push_back(MakeService(std::move(name), ingress, config.error_rate, i % kRuntimeCount,
                                     NamespaceOf(t, i), rng));
    if (t.services.back().ingress) t.ingress.push_back(i);
  }
  if (t.ingress.empty()) t.ingress.push_back(0);  // Checked at load; never trace-less.
  for (int i = 0; i < n; ++i) {
    int later = n - 1 - i;
    int calls = std::min(later, 1 + static_cast<int>(rng.Below(3)));
    std::vector<int> picks;
    while (static_cast<int>(picks.size()) < calls) {
      int j = i + 1 + static_cast<int>(rng.Below(later));
      if (std::find(picks.begin(), picks.end(), j) == picks.end()) picks.push_back(j);
    }
    std::sort(picks.begin(), picks.end());
    for (int j : picks) {
      if (!t.services[j].ingress && rng.Chance(0.2)) {
        t.services[i].publishes_to.emplace_back(j, StrCat(t.services[i].name, ".events"));
      } else {
        t.services[i].downstream.push_back(j);
      }
    }
  }
  // Every topology with room for it has at least one messaging edge.
  bool any = false;
  for (const Service& s : t.services) any |= !s.publishes_to.empty();
  for (size_t i = 0; i < t.services.size() && !any; ++i) {
    auto& down = t.services[i].downstream;
    for (size_t k = 0; k < down.size() && !any; ++k) {
      if (t.services[down[k]].ingress || down.size() < 2) continue;
      t.services[i].publishes_to.emplace_back(down[k], StrCat(t.services[i].name, ".events"));
      down.erase(down.begin() + static_cast<long>(k));
      any = true;
    }
  }
  return t;
}

int AddService(Topology* topology, const std::string& name, Rng& rng) {
  for (size_t i = 0; i < topology->services.size(); ++i) {
    if (topology->services[i].name == name) return static_cast<int>(i);
  }
  uint64_t h = 0xCBF29CE484222325ull;  // The name picks the language: FNV-1a.
  for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ull;
  topology->services.push_back(MakeService(name, false, 0, static_cast<int>(h % kRuntimeCount),
                                           NamespaceOf(*topology, topology->services.size()), rng));
  return static_cast<int>(topology->services.size()) - 1;
}

int LibraryScope(const Service& service, Library library) {
  return service.runtime * static_cast<int>(Library::kCount) + static_cast<int>(library);
}

int ManualScope(const Topology&, int service) {
  return kRuntimeCount * static_cast<int>(Library::kCount) + service;
}

int FilelogScope(const Topology& topology) {
  return ManualScope(topology, static_cast<int>(topology.services.size()));
}

std::vector<std::pair<std::string, std::string>> ScopeTable(const Topology& topology) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int r = 0; r < kRuntimeCount; ++r) {
    for (const Scope& s : RuntimeAt(r).scopes) out.emplace_back(s.name, s.version);
  }
  for (const Service& s : topology.services) out.emplace_back(s.name, s.version);
  out.emplace_back(
      "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver",
      "0.140.0");
  return out;
}

}  // namespace loadgen

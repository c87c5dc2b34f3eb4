// The service topology traces are drawn from: services with their resources and
// operations, and the downstream call graph between them. Built once per dataset
// from the seed; immutable afterwards.
#pragma once

#include <string>
#include <vector>

#include "common/random.h"
#include "generator/config.h"
#include "generator/instrumentation.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"

namespace loadgen {

enum class OperationKind { kHttpServer, kGrpcServer, kDbQuery, kCacheGet, kInternal };

struct Operation {
  OperationKind kind;
  std::string name;       // Span name, following the semantic-convention naming rules.
  std::string method;     // HTTP method for kHttpServer.
  std::string route;      // http.route for kHttpServer; db.collection.name for kDbQuery.
  std::string statement;  // db.query.text for kDbQuery.
  double error_rate = 0;  // Share of calls that fail (server operations).
  int64_t self_time_min_us = 0;
  int64_t self_time_max_us = 0;
};

struct Service {
  std::string name;
  std::string version;
  std::string host;
  int port = 8080;
  bool ingress = false;
  std::vector<Operation> server_ops;  // Entry points others (or users) call.
  std::vector<Operation> local_ops;   // DB, cache and internal work.
  std::vector<int> downstream;        // Indices of services this one calls.
  // Services this one sends messages to, with the topic: a PRODUCER span here, a
  // CONSUMER span there that starts after the publish (asynchronous).
  std::vector<std::pair<int, std::string>> publishes_to;
  int runtime = 0;  // Its language: RuntimeAt(runtime), the same for all it sends.
  opentelemetry::proto::resource::v1::Resource resource;
};

struct Topology {
  std::vector<Service> services;
  std::vector<int> ingress;             // Indices of services that receive user traffic.
  std::vector<std::string> namespaces;  // traces.services.namespaces.
};

// The service.namespace of service `service`: namespaces[service % size], or "" with none.
std::string NamespaceOf(const Topology& topology, size_t service);

// Builds the topology: the first quarter of the services (at least one) are ingress
// unless traces.services.ingress names them; every service calls 1-3 services later in
// the list (about a fifth of those edges are messaging), so the graph fans out, several
// callers reach the same back-ends, and there are no cycles. Half of the non-ingress
// services speak gRPC, the rest HTTP. Each server operation gets its own error rate,
// spread around traces.error_rate.
Topology BuildTopology(const GeneratorConfig& config, Rng& rng);

// The dataset's instrumentation scopes, in a table the builders index: each runtime's
// libraries, then each service's own tracer (its name and version: the spans its code
// makes itself), then the Collector's filelog receiver (system logs).
int LibraryScope(const Service& service, Library library);
int ManualScope(const Topology& topology, int service);
int FilelogScope(const Topology& topology);
// (name, version) for each index above.
std::vector<std::pair<std::string, std::string>> ScopeTable(const Topology& topology);

// Adds a service that only scenarios call (a resource and generic operations, no
// place in the random call graph) unless one of that name exists. Returns its index.
int AddService(Topology* topology, const std::string& name, Rng& rng);

}  // namespace loadgen

// The realism of the default dataset, held against a profile pinned from the generator
// as it was (tests/data/generator-profile.txt): its vocabulary (each span's kind, name
// and attribute keys; each log record's kind of record and keys; each metric's type,
// unit and keys) must be the same, and its distributions (span kinds, span counts per
// trace, failing calls, HTTP status codes, log types and severities, log-trace
// correlation) within a few points of the pinned ones. A rewrite of how the generator
// writes its output may change every byte, never what the data says.
//
// After a deliberate change to the data, refresh the profile with
//   LOADGEN_WRITE_PROFILE=1 build/bin/generator_profile_test
// and review its diff like code.
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "catch2/catch.hpp"
#include "common/template_file.h"
#include "generator/config.h"
#include "generator/dataset.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/test_util.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;
namespace tr = opentelemetry::proto::trace::v1;
using KeyValues = google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>;

template <typename Request, typename Fn>
void EachRequest(const std::string& path, Fn fn) {
  for (const Request& req : testing::ReadTemplateRequests<Request>(path)) fn(req);
}

std::string Keys(const KeyValues& attrs) {
  std::set<std::string> keys;
  for (const auto& kv : attrs) keys.insert(kv.key());
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ",") + k;
  return out;
}

std::string Value(const KeyValues& attrs, std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) {
      return kv.value().has_string_value() ? kv.value().string_value()
                                           : std::to_string(kv.value().int_value());
    }
  }
  return "";
}

// What the dataset says: a vocabulary (sets of descriptions) and shares (fractions).
struct Profile {
  std::map<std::string, std::set<std::string>> vocabulary;
  std::map<std::string, double> shares;
  std::map<std::string, uint64_t> totals;  // What each group of shares counts, by prefix.

  std::string Text() const {
    std::ostringstream out;
    for (const auto& [kind, words] : vocabulary) {
      for (const auto& w : words) out << kind << " " << w << "\n";
    }
    for (const auto& [name, v] : shares) out << "share " << name << " " << v << "\n";
    for (const auto& [name, n] : totals) out << "total " << name << " " << n << "\n";
    return out.str();
  }
  static Profile Parse(const std::string& text) {
    Profile p;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      const size_t sp = line.find(' ');
      const std::string kind = line.substr(0, sp), rest = line.substr(sp + 1);
      const size_t sp2 = rest.rfind(' ');
      if (kind == "share") {
        p.shares[rest.substr(0, sp2)] = std::atof(rest.c_str() + sp2 + 1);
      } else if (kind == "total") {
        p.totals[rest.substr(0, sp2)] = std::strtoull(rest.c_str() + sp2 + 1, nullptr, 10);
      } else {
        p.vocabulary[kind].insert(rest);
      }
    }
    return p;
  }
};

template <typename K>
void AddShares(Profile* p, const std::string& prefix, const std::map<K, uint64_t>& counts) {
  uint64_t total = 0;
  for (const auto& [k, n] : counts) total += n;
  p->totals[prefix] = total;
  for (const auto& [k, n] : counts) {
    std::ostringstream name;
    name << prefix << "." << k;
    p->shares[name.str()] = std::round(1e4 * static_cast<double>(n) / total) / 1e4;
  }
}

Profile ProfileOf(const DatasetSummary& summary) {
  Profile p;
  // Spans.
  std::map<std::string, uint64_t> kinds, span_counts, server_status, codes;
  std::map<std::string, size_t> spans_per_trace;
  std::set<std::pair<std::string, std::string>> spans_of_service;  // (service, span ID)
  EachRequest<ct::ExportTraceServiceRequest>(summary.traces.path, [&](const auto& req) {
    for (const auto& rs : req.resource_spans()) {
      const std::string service = Value(rs.resource().attributes(), "service.name");
      p.vocabulary["resource"].insert(Keys(rs.resource().attributes()));
      for (const auto& ss : rs.scope_spans()) {
        p.vocabulary["scope"].insert(ss.scope().name() + " " + ss.scope().version());
        for (const tr::Span& s : ss.spans()) {
          const std::string kind = tr::Span::SpanKind_Name(s.kind());
          p.vocabulary["span"].insert(kind + " " + s.name() + " [" + Keys(s.attributes()) + "]");
          for (const auto& e : s.events()) {
            p.vocabulary["event"].insert(e.name() + " [" + Keys(e.attributes()) + "]");
          }
          ++kinds[kind];
          ++spans_per_trace[s.trace_id()];
          spans_of_service.insert({service, s.trace_id() + s.span_id()});
          if (s.kind() == tr::Span::SPAN_KIND_SERVER) {
            ++server_status[tr::Status::StatusCode_Name(s.status().code())];
            const std::string code = Value(s.attributes(), "http.response.status_code");
            if (!code.empty()) ++codes[code];
          }
        }
      }
    }
  });
  AddShares(&p, "span.kind", kinds);
  AddShares(&p, "server.status", server_status);
  AddShares(&p, "server.http_status", codes);
  for (const auto& [id, n] : spans_per_trace)
    ++span_counts[n <= 5    ? "1-5"
                  : n <= 10 ? "6-10"
                  : n <= 15 ? "11-15"
                  : n <= 20 ? "16-20"
                  : n <= 25 ? "21-25"
                            : "26+"];
  AddShares(&p, "trace.spans", span_counts);

  // Log records.
  std::map<std::string, uint64_t> log_kinds, severities, correlated;
  EachRequest<cl::ExportLogsServiceRequest>(summary.logs.path, [&](const auto& req) {
    for (const auto& rl : req.resource_logs()) {
      const std::string service = Value(rl.resource().attributes(), "service.name");
      p.vocabulary["resource"].insert(Keys(rl.resource().attributes()));
      for (const auto& sl : rl.scope_logs()) {
        p.vocabulary["scope"].insert(sl.scope().name() + " " + sl.scope().version());
        for (const auto& r : sl.log_records()) {
          const std::string kind =
              !r.event_name().empty() ? r.event_name()
              : r.attributes_size() > 0 && r.attributes(0).key() == "code.function.name"
                  ? "application"
                  : "system";
          p.vocabulary["log"].insert(kind + " " + r.severity_text() + " [" + Keys(r.attributes()) +
                                     "]");
          ++log_kinds[kind];
          ++severities[r.severity_text()];
          if (kind == "application") {
            const bool linked = !r.trace_id().empty();
            ++correlated[linked ? "yes" : "no"];
            // A correlated record names a span of its own service that exists.
            if (linked) CHECK(spans_of_service.count({service, r.trace_id() + r.span_id()}) == 1);
          }
        }
      }
    }
  });
  AddShares(&p, "log.kind", log_kinds);
  AddShares(&p, "log.severity", severities);
  AddShares(&p, "log.correlated", correlated);

  // Metrics.
  EachRequest<cm::ExportMetricsServiceRequest>(summary.metrics.path, [&](const auto& req) {
    for (const auto& rm : req.resource_metrics()) {
      p.vocabulary["resource"].insert(Keys(rm.resource().attributes()));
      for (const auto& sm : rm.scope_metrics()) {
        p.vocabulary["scope"].insert(sm.scope().name() + " " + sm.scope().version());
        for (const auto& m : sm.metrics()) {
          const KeyValues* attrs = nullptr;
          std::string type;
          if (m.has_gauge()) {
            type = "gauge";
            if (m.gauge().data_points_size()) attrs = &m.gauge().data_points(0).attributes();
          } else if (m.has_sum()) {
            type = m.sum().is_monotonic() ? "sum" : "updown";
            if (m.sum().data_points_size()) attrs = &m.sum().data_points(0).attributes();
          } else if (m.has_histogram()) {
            type = "histogram";
            if (m.histogram().data_points_size()) {
              attrs = &m.histogram().data_points(0).attributes();
            }
          } else if (m.has_exponential_histogram()) {
            type = "exp_histogram";
            if (m.exponential_histogram().data_points_size()) {
              attrs = &m.exponential_histogram().data_points(0).attributes();
            }
          }
          p.vocabulary["metric"].insert(m.name() + " " + type + " " + m.unit() + " [" +
                                        (attrs ? Keys(*attrs) : "") + "]");
        }
      }
    }
  });
  return p;
}

TEST_CASE("the default dataset says what it said: vocabulary and distributions") {
  testing::TempDir dir;
  auto config = LoadGeneratorConfig(testing::SourceDir() + "/configs/generator.yaml");
  REQUIRE(config.ok());
  config->output_directory = dir.path();
  const auto summary = GenerateDataset(*config);
  REQUIRE(summary.ok());
  const Profile now = ProfileOf(*summary);
  const std::string pinned_path = testing::SourceDir() + "/tests/data/generator-profile.txt";
  if (std::getenv("LOADGEN_WRITE_PROFILE") != nullptr) {
    testing::WriteText(pinned_path, now.Text());
    WARN("wrote " << pinned_path);
  }
  const Profile pinned = Profile::Parse(testing::ReadText(pinned_path));
  for (const auto& [kind, words] : pinned.vocabulary) {
    INFO("vocabulary of " << kind);
    const auto it = now.vocabulary.find(kind);
    REQUIRE(it != now.vocabulary.end());
    for (const auto& w : words) {
      INFO("pinned, missing now: " << w);
      CHECK(it->second.count(w) == 1);
    }
    for (const auto& w : it->second) {
      INFO("new, not pinned: " << w);
      CHECK(words.count(w) == 1);
    }
  }
  for (const auto& [name, share] : pinned.shares) {
    INFO(name);
    const auto it = now.shares.find(name);
    REQUIRE(it != now.shares.end());
    // Another random stream draws another sample of the same distribution: the share
    // stays within four standard deviations of a binomial over the group's count.
    std::string group;
    for (const auto& [prefix, total] : pinned.totals) {
      if (name.starts_with(prefix + ".")) group = prefix;
    }
    REQUIRE(!group.empty());
    const double n = static_cast<double>(
        std::min(pinned.totals.at(group), now.totals.count(group) ? now.totals.at(group) : 0));
    REQUIRE(n > 0);
    CHECK(it->second == Approx(share).margin(4 * std::sqrt(share * (1 - share) / n) + 0.002));
  }
  CHECK(now.shares.size() == pinned.shares.size());
}

}  // namespace
}  // namespace loadgen

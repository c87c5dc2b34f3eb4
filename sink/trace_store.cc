#include "sink/trace_store.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

#include "common/clock.h"
#include "common/strings.h"
#include "common/wire.h"
#include "fmt/core.h"
#include "nlohmann/json.hpp"

namespace loadgen {

struct TraceStore::Span {
  std::string span_id, parent, service, name, status_message;
  int kind = 0, status = 0;
  uint64_t start = 0, end = 0;
  std::vector<std::pair<std::string, std::string>> attributes;
  struct Event {
    uint64_t time = 0;
    std::string name;
    std::vector<std::pair<std::string, std::string>> attributes;
  };
  std::vector<Event> events;
};

struct TraceStore::Log {
  uint64_t time = 0;
  int severity = 0;
  std::string severity_text, body, service, span_id;
};

struct TraceStore::Trace {
  std::vector<Span> spans;
  uint64_t spans_seen = 0;
  std::vector<Log> logs;
  uint64_t logs_seen = 0;
};

namespace {

using Json = nlohmann::ordered_json;
using Attributes = std::vector<std::pair<std::string, std::string>>;

std::string_view View(const wire::Field& f) {
  return {reinterpret_cast<const char*>(f.data), f.size};
}

std::string Cut(std::string_view s) {
  if (s.size() <= TraceStore::kMaxValue) return std::string(s);
  return std::string(s.substr(0, TraceStore::kMaxValue)) + "...";
}

uint64_t Fixed64(const wire::Field& f) { return f.type == wire::kI64 ? wire::LoadLE64(f.data) : 0; }

// An AnyValue as text.
std::string AnyText(std::string_view any) {
  wire::FieldReader r(any);
  wire::Field f;
  while (r.Next(&f)) {
    switch (f.number) {
      case 1: return Cut(View(f));
      case 2: return f.varint != 0 ? "true" : "false";
      case 3: return std::to_string(static_cast<int64_t>(f.varint));
      case 4: {
        double d = 0;
        if (f.type == wire::kI64) std::memcpy(&d, f.data, 8);
        return fmt::format("{:g}", d);
      }
      case 5: return "[array]";
      case 6: return "{kvlist}";
      case 7: return fmt::format("<{} bytes>", f.size);
      default: break;
    }
  }
  return "";
}

void ReadAttribute(std::string_view kv, Attributes* out) {
  wire::FieldReader r(kv);
  wire::Field f;
  std::string key, value;
  while (r.Next(&f)) {
    if (f.number == 1 && f.type == wire::kLen) key = Cut(View(f));
    if (f.number == 2 && f.type == wire::kLen) value = AnyText(View(f));
  }
  out->emplace_back(std::move(key), std::move(value));
}

std::string ServiceOf(std::string_view resource) {
  Attributes attrs;
  wire::FieldReader r(resource);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number == 1 && f.type == wire::kLen) ReadAttribute(View(f), &attrs);
  }
  for (const auto& [k, v] : attrs) {
    if (k == "service.name") return v;
  }
  return "(no service.name)";
}

// Every item (field 2 of field 2) of every resource (field 1) of an Export request, with
// its resource: spans, log records; for metrics, the metrics. (A list rather than a
// callback, so that clang's lock analysis follows the caller's lock.)
void ItemsOf(std::string_view request,
             std::vector<std::pair<std::string_view, std::string_view>>* out) {
  out->clear();
  wire::FieldReader r(request);
  wire::Field rf;
  while (r.Next(&rf)) {
    if (rf.number != 1 || rf.type != wire::kLen) continue;
    std::string_view resource;
    wire::FieldReader res(rf.data, rf.size);
    wire::Field f;
    while (res.Next(&f)) {
      if (f.number == 1 && f.type == wire::kLen) resource = View(f);
    }
    wire::FieldReader scopes(rf.data, rf.size);
    while (scopes.Next(&f)) {
      if (f.number != 2 || f.type != wire::kLen) continue;
      wire::FieldReader items(f.data, f.size);
      wire::Field item;
      while (items.Next(&item)) {
        if (item.number == 2 && item.type == wire::kLen) out->emplace_back(resource, View(item));
      }
    }
  }
}

// The data points of a Metric: its data (gauge 5, sum 7, histogram 9, exponential
// histogram 10, summary 11) holds them in field 1.
uint64_t PointsOf(std::string_view metric) {
  uint64_t points = 0;
  wire::FieldReader r(metric);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.type != wire::kLen ||
        (f.number != 5 && f.number != 7 && f.number != 9 && f.number != 10 && f.number != 11)) {
      continue;
    }
    wire::FieldReader data(f.data, f.size);
    wire::Field p;
    while (data.Next(&p)) points += p.number == 1;
  }
  return points;
}

}  // namespace

TraceStore::TraceStore(size_t keep_traces) : keep_traces_(keep_traces) {
  assert(keep_traces > 0);
  thread_ = std::thread([this] { Loop(); });
}

TraceStore::~TraceStore() {
  {
    MutexLock lock(&queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  thread_.join();
}

void TraceStore::Offer(Signal signal, std::string_view request) {
  if (SteadyClock().NowNs() < paused_until_ns_.load(std::memory_order_relaxed)) {
    skipped_paused_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  {
    MutexLock lock(&queue_mu_);
    if (queued_bytes_ + request.size() > kMaxQueuedBytes) {
      ++skipped_;
      return;
    }
    queued_bytes_ += request.size();  // Held for the copy below.
  }
  std::string copy(request);
  {
    MutexLock lock(&queue_mu_);
    queue_.emplace_back(signal, std::move(copy));
  }
  queue_cv_.notify_all();
}

void TraceStore::Flush() {
  MutexLock lock(&queue_mu_);
  while (!queue_.empty() || busy_) queue_cv_.wait(queue_mu_);
}

void TraceStore::Loop() {
  const SteadyClock clock;
  int64_t window_start = clock.NowNs(), busy_ns = 0;
  window_start_ns_.store(window_start, std::memory_order_relaxed);
  MutexLock lock(&queue_mu_);
  while (true) {
    while (queue_.empty() && !stop_) queue_cv_.wait(queue_mu_);
    if (stop_) return;
    std::pair<Signal, std::string> next = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    queue_mu_.Unlock();
    const int64_t began = clock.NowNs();
    if (began - window_start >= 1'000'000'000) {
      window_start = began;
      busy_ns = 0;
    }
    {
      MutexLock look(&mu_);
      Look(next.first, next.second);
    }
    busy_ns += clock.NowNs() - began;
    window_start_ns_.store(window_start, std::memory_order_relaxed);
    busy_ns_.store(busy_ns, std::memory_order_relaxed);
    if (busy_ns >= kBusyNsPerSecond) {
      paused_until_ns_.store(window_start + 1'000'000'000, std::memory_order_relaxed);
    }
    queue_mu_.Lock();
    busy_ = false;
    queued_bytes_ -= next.second.size();
    queue_cv_.notify_all();
  }
}

TraceStore::Trace& TraceStore::Keep(const std::string& id) {
  auto it = traces_.find(id);
  if (it != traces_.end()) return it->second;
  while (traces_.size() >= keep_traces_ && !order_.empty()) {
    traces_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(id);
  return traces_[id];
}

void TraceStore::Look(Signal signal, std::string_view request) {
  ++looked_at_;
  const int s = SignalIndex(signal);
  std::vector<std::pair<std::string_view, std::string_view>> items;
  ItemsOf(request, &items);
  for (const auto& [resource, item] : items) {
    const std::string service = ServiceOf(resource);
    if (signal == Signal::kMetrics) {
      per_service_[service][s] += PointsOf(item);
      continue;
    }
    ++per_service_[service][s];
    wire::FieldReader r(item);
    wire::Field f;
    if (signal == Signal::kTraces) {
      Span span;
      span.service = service;
      std::string trace;
      while (r.Next(&f)) {
        switch (f.number) {
          case 1: trace = HexString(View(f)); break;
          case 2: span.span_id = HexString(View(f)); break;
          case 4: span.parent = HexString(View(f)); break;
          case 5: span.name = Cut(View(f)); break;
          case 6: span.kind = static_cast<int>(f.varint); break;
          case 7: span.start = Fixed64(f); break;
          case 8: span.end = Fixed64(f); break;
          case 9: ReadAttribute(View(f), &span.attributes); break;
          case 11: {
            Span::Event& e = span.events.emplace_back();
            wire::FieldReader er(f.data, f.size);
            wire::Field ef;
            while (er.Next(&ef)) {
              if (ef.number == 1) e.time = Fixed64(ef);
              if (ef.number == 2) e.name = Cut(View(ef));
              if (ef.number == 3) ReadAttribute(View(ef), &e.attributes);
            }
            break;
          }
          case 15: {
            wire::FieldReader sr(f.data, f.size);
            wire::Field sf;
            while (sr.Next(&sf)) {
              if (sf.number == 2) span.status_message = Cut(View(sf));
              if (sf.number == 3) span.status = static_cast<int>(sf.varint);
            }
            break;
          }
          default: break;
        }
      }
      if (trace.size() != 32) continue;  // No 16-byte trace ID (the validator says so).
      Trace& t = Keep(trace);
      if (++t.spans_seen <= kMaxSpans) t.spans.push_back(std::move(span));
      continue;
    }
    Log log;
    log.service = service;
    std::string trace;
    while (r.Next(&f)) {
      switch (f.number) {
        case 1: log.time = Fixed64(f); break;
        case 2: log.severity = static_cast<int>(f.varint); break;
        case 3: log.severity_text = Cut(View(f)); break;
        case 5: log.body = AnyText(View(f)); break;
        case 9: trace = f.size == 16 ? HexString(View(f)) : ""; break;
        case 10: log.span_id = HexString(View(f)); break;
        default: break;
      }
    }
    // A record joins a kept trace: records naming traces that are not kept (never came,
    // or dropped) would push kept traces out.
    const auto kept = traces_.find(trace);
    if (kept == traces_.end()) continue;
    if (++kept->second.logs_seen <= kMaxLogs) kept->second.logs.push_back(std::move(log));
  }
}

std::vector<TraceStore::Row> TraceStore::Recent() const {
  MutexLock lock(&mu_);
  std::vector<Row> out;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    const Trace& t = traces_.at(*it);
    if (t.spans.empty()) continue;
    Row row;
    row.id = *it;
    row.spans = t.spans_seen;
    std::set<std::string> ids, services;
    for (const Span& s : t.spans) ids.insert(s.span_id);
    uint64_t first = UINT64_MAX, last = 0;
    for (const Span& s : t.spans) {
      first = std::min(first, s.start);
      last = std::max(last, s.end);
      row.error = row.error || s.status == 2;  // STATUS_CODE_ERROR
      services.insert(s.service);
      if (row.root_name.empty() && (s.parent.empty() || ids.count(s.parent) == 0)) {
        row.root_service = s.service;
        row.root_name = s.name;
      }
    }
    row.duration_ms = last > first ? (last - first) / 1e6 : 0;
    row.services.assign(services.begin(), services.end());
    out.push_back(std::move(row));
  }
  return out;
}

std::optional<std::string> TraceStore::TraceJson(std::string_view hex_id) const {
  MutexLock lock(&mu_);
  const auto found = traces_.find(std::string(hex_id));
  if (found == traces_.end()) return std::nullopt;
  const Trace& t = found->second;
  // The tree in start order: each span after its parent; a span whose parent is not
  // here starts a tree of its own.
  std::unordered_map<std::string, std::vector<size_t>> children;
  std::vector<size_t> roots;
  std::set<std::string> ids;
  for (const Span& s : t.spans) ids.insert(s.span_id);
  for (size_t i = 0; i < t.spans.size(); ++i) {
    const Span& s = t.spans[i];
    if (s.parent.empty() || ids.count(s.parent) == 0) {
      roots.push_back(i);
    } else {
      children[s.parent].push_back(i);
    }
  }
  auto by_start = [&](size_t a, size_t b) { return t.spans[a].start < t.spans[b].start; };
  uint64_t base = UINT64_MAX;
  for (const Span& s : t.spans) base = std::min(base, s.start);
  for (const Log& l : t.logs) base = std::min(base, l.time);
  auto offset_ms = [&](uint64_t time) { return time >= base ? (time - base) / 1e6 : 0.0; };
  auto attributes = [](const Attributes& attrs) {
    Json out = Json::array();
    for (const auto& [k, v] : attrs) out.push_back({k, v});
    return out;
  };
  Json spans = Json::array();
  std::vector<std::pair<size_t, int>> stack;  // (span, depth)
  std::sort(roots.begin(), roots.end(), by_start);
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    const auto [i, depth] = stack.back();
    stack.pop_back();
    const Span& s = t.spans[i];
    Json events = Json::array();
    for (const Span::Event& e : s.events) {
      events.push_back({{"name", e.name},
                        {"offset_ms", offset_ms(e.time)},
                        {"attributes", attributes(e.attributes)}});
    }
    spans.push_back({{"span_id", s.span_id},
                     {"parent", s.parent},
                     {"depth", depth},
                     {"service", s.service},
                     {"name", s.name},
                     {"kind", s.kind},
                     {"offset_ms", offset_ms(s.start)},
                     {"duration_ms", s.end > s.start ? (s.end - s.start) / 1e6 : 0.0},
                     {"status", s.status},
                     {"status_message", s.status_message},
                     {"attributes", attributes(s.attributes)},
                     {"events", events}});
    auto kids = children.find(s.span_id);
    if (kids == children.end()) continue;
    std::vector<size_t> order = kids->second;
    std::sort(order.begin(), order.end(), by_start);
    for (auto k = order.rbegin(); k != order.rend(); ++k) stack.emplace_back(*k, depth + 1);
  }
  Json logs = Json::array();
  for (const Log& l : t.logs) {
    logs.push_back({{"offset_ms", offset_ms(l.time)},
                    {"severity", l.severity},
                    {"severity_text", l.severity_text},
                    {"service", l.service},
                    {"span_id", l.span_id},
                    {"body", l.body}});
  }
  Json j = {{"id", found->first},
            {"spans_seen", t.spans_seen},
            {"spans_kept", t.spans.size()},
            {"logs_seen", t.logs_seen},
            {"spans", spans},
            {"logs", logs}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

TraceStore::Totals TraceStore::totals() const {
  Totals out;
  {
    MutexLock lock(&mu_);
    out.per_service = per_service_;
    out.looked_at = looked_at_;
    out.traces = traces_.size();
  }
  out.keep_traces = keep_traces_;
  MutexLock lock(&queue_mu_);
  out.skipped = skipped_ + skipped_paused_.load(std::memory_order_relaxed);
  out.queued = queue_.size() + (busy_ ? 1 : 0);
  // Read under the lock: with nothing queued or under way, the thread's last stores
  // (made before it took the lock back) are the ones seen.
  const int64_t now = SteadyClock().NowNs();
  out.skipping = now < paused_until_ns_.load(std::memory_order_relaxed);
  // The next request looked at starts a new second once this one is over.
  const bool new_second = now - window_start_ns_.load(std::memory_order_relaxed) >= 1'000'000'000;
  out.share_left_ns =
      new_second
          ? kBusyNsPerSecond
          : std::max<int64_t>(0, kBusyNsPerSecond - busy_ns_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace loadgen

#include "sink/ui.h"

#include <algorithm>

#include "nlohmann/json.hpp"

namespace loadgen {
namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) {
  // Attribute values and messages come from senders: bytes that are not UTF-8 are
  // replaced.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string SummaryJson(const OtlpSink& sink, const TraceStore& store, bool validating) {
  const SinkSnapshot snap = sink.Snapshot();
  Json j;
  Json& signals = j["signals"] = Json::object();
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    signals[SignalName(s)] = {{"items", snap.items[i]},
                              {"requests", snap.requests[i]},
                              {"refused_requests", snap.refused_requests[i]},
                              {"bytes", snap.bytes[i]}};
  }
  // The last minute of arrivals, whole seconds only (the current one is still filling).
  Json arrivals = Json::array();
  const size_t n = snap.arrivals.size();
  const size_t first = n > 61 ? n - 61 : 0;
  for (size_t i = first; i + 1 < n; ++i) arrivals.push_back(snap.arrivals[i]);
  j["arrivals_per_second"] = arrivals;
  const TraceStore::Totals totals = store.totals();
  Json services = Json::array();
  for (const auto& [name, counts] : totals.per_service) {
    services.push_back(
        {{"service", name}, {"spans", counts[0]}, {"points", counts[1]}, {"records", counts[2]}});
  }
  j["services"] = services;
  j["view"] = {{"requests_looked_at", totals.looked_at},
               {"requests_skipped", totals.skipped},
               {"requests_queued", totals.queued},
               {"skipping_now", totals.skipping},
               {"share_left_ms", static_cast<double>(totals.share_left_ns) / 1e6},
               {"traces_kept", totals.traces},
               {"keep_traces", totals.keep_traces}};
  Json by_kind = Json::object();
  for (const auto& [kind, count] : snap.errors_by_kind) by_kind[kind] = count;
  j["validation"] = {{"enabled", validating},
                     {"errors", snap.validation_errors},
                     {"by_kind", by_kind},
                     {"examples", snap.examples}};
  return Dump(j);
}

std::string TracesJson(const TraceStore& store) {
  Json rows = Json::array();
  for (const TraceStore::Row& r : store.Recent()) {
    rows.push_back({{"id", r.id},
                    {"root_service", r.root_service},
                    {"root_name", r.root_name},
                    {"spans", r.spans},
                    {"duration_ms", r.duration_ms},
                    {"error", r.error},
                    {"services", r.services}});
  }
  return Dump(rows);
}

constexpr const char* kPage = R"PAGE(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>otlp-sink</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1280px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}
.meta{color:#555}table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #ddd}
th:first-child,td:first-child{text-align:left}td.l,th.l{text-align:left}
.err{color:#a00}.cols{display:flex;flex-wrap:wrap;gap:32px}
#arrivals{display:flex;align-items:flex-end;gap:2px;height:60px;border-bottom:1px solid #ccc}
#arrivals div{width:8px;background:#1f77b4}
#recent{max-height:340px;overflow:auto;border:1px solid #eee}
#traces tr.row{cursor:pointer}#traces tr.row:hover{background:#f3f3f3}
.controls{margin:8px 0}.controls input[type=text]{width:290px;font-family:monospace}
#waterfall .span{display:flex;align-items:center;border-bottom:1px solid #eee;cursor:pointer}
#waterfall .label{width:420px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#waterfall .track{flex:1;position:relative;height:16px}
#waterfall .bar{position:absolute;height:12px;top:2px;background:#2ca02c;min-width:1px}
#waterfall .bar.error{background:#d62728}
#waterfall .details{display:none;margin:4px 0 8px 20px;font-size:12px}
#waterfall .open + .details{display:block}
code{font-size:12px}
</style></head><body>
<h1>otlp-sink</h1>
<p class="meta" id="meta">loading</p>
<div class="cols"><div><h2>Totals</h2><table id="signals"></table></div>
<div><h2>Per service</h2><table id="services"></table></div>
<div><h2>Arrivals per second (last minute)</h2><div id="arrivals"></div>
<p class="meta" id="arrivals-now"></p></div></div>
<h2>Recent traces</h2>
<div class="controls"><label>service <select id="service"><option value="">any</option></select>
</label> <label><input type="checkbox" id="errors-only"> errors only</label>
<label>trace ID <input type="text" id="trace-id" placeholder="32 hex digits"></label>
<button id="find">find</button> <span class="meta" id="shown"></span></div>
<div id="recent"><table id="traces"></table></div>
<div id="trace"></div>
<h2>Validation</h2><div id="validation"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"})[c]);
const kinds = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const statuses = ["unset", "ok", "error"];
let rows = [];
function showSummary(s) {
  let total = 0, html = "<tr><th>signal</th><th>items</th><th>requests</th><th>refused</th></tr>";
  for (const [name, t] of Object.entries(s.signals)) {
    total += t.items;
    html += "<tr><td>" + name + "</td><td>" + t.items + "</td><td>" + t.requests + "</td><td>" +
        t.refused_requests + "</td></tr>";
  }
  $("signals").innerHTML = html;
  $("signals").dataset.total = total;
  html = "<tr><th>service</th><th>spans</th><th>points</th><th>records</th></tr>";
  for (const v of s.services) {
    html += "<tr><td>" + esc(v.service) + "</td><td>" + v.spans + "</td><td>" + v.points +
        "</td><td>" + v.records + "</td></tr>";
  }
  $("services").innerHTML = html;
  const a = s.arrivals_per_second, top = Math.max(1, ...a);
  $("arrivals").innerHTML = a.map((v) => "<div title=\"" + v + "/s\" style=\"height:" +
      (100 * v / top).toFixed(1) + "%\"></div>").join("");
  $("arrivals-now").textContent = a.length ? "last whole second: " + a[a.length - 1] + " items/s" : "";
  const v = s.view;
  $("meta").textContent = total + " items accepted \u00b7 keeping the last " + v.keep_traces +
      " traces (" + v.traces_kept + " now) \u00b7 " + v.requests_looked_at +
      " requests looked at, " + v.requests_skipped + " skipped while the view was busy" +
      (v.skipping_now ? " (skipping now: this second's share is used)" : "") +
      (v.requests_queued ? ", " + v.requests_queued + " waiting" : "");
  const val = s.validation;
  if (!val.enabled) {
    $("validation").innerHTML = "<p class=\"meta\">off: start the sink with --validate</p>";
  } else {
    let h = "<p>" + val.errors + " violations</p>";
    if (Object.keys(val.by_kind).length) {
      h += "<table><tr><th>kind</th><th>count</th></tr>" + Object.entries(val.by_kind).map(
          ([k, n]) => "<tr><td class=\"err\">" + esc(k) + "</td><td>" + n + "</td></tr>").join("") +
          "</table><ul>" + val.examples.map((e) => "<li>" + esc(e) + "</li>").join("") + "</ul>";
    }
    $("validation").innerHTML = h;
  }
}
function showTraces() {
  const service = $("service").value, errors = $("errors-only").checked;
  const shown = rows.filter((r) => (!service || r.services.includes(service)) &&
      (!errors || r.error)).slice(0, 200);
  $("shown").textContent = shown.length + " of " + rows.length + " kept traces shown";
  $("traces").innerHTML = "<tr><th>trace ID</th><th class=\"l\">root service</th>" +
      "<th class=\"l\">root span</th><th>spans</th><th>duration ms</th><th>error</th></tr>" +
      shown.map((r) => "<tr class=\"row\" data-id=\"" + r.id + "\"><td><code>" + r.id +
          "</code></td><td class=\"l\">" + esc(r.root_service) + "</td><td class=\"l\">" +
          esc(r.root_name) + "</td><td>" + r.spans + "</td><td>" + r.duration_ms.toFixed(2) +
          "</td><td" + (r.error ? " class=\"err\">yes" : ">no") + "</td></tr>").join("");
}
function kv(list) {
  return list.map(([k, v]) => "<div><code>" + esc(k) + "</code> = " + esc(v) + "</div>").join("");
}
async function openTrace(id) {
  id = id.trim().toLowerCase();
  const r = await fetch("/api/trace/" + encodeURIComponent(id), {cache: "no-store"});
  if (!r.ok) {
    $("trace").innerHTML = "<h2>Trace</h2><p class=\"err\">" + esc(await r.text()) + "</p>";
    return;
  }
  const t = await r.json();
  const end = Math.max(1e-9, ...t.spans.map((s) => s.offset_ms + s.duration_ms));
  let html = "<h2>Trace <code>" + t.id + "</code></h2><p class=\"meta\" id=\"trace-meta\">" +
      t.spans_seen + " spans" + (t.spans_kept < t.spans_seen ? " (" + t.spans_kept + " kept)" : "") +
      " \u00b7 " + end.toFixed(2) + " ms \u00b7 " + t.logs_seen + " log records</p><div id=\"waterfall\">";
  for (const s of t.spans) {
    html += "<div class=\"span\" data-span=\"" + s.span_id + "\"><div class=\"label\" style=\"padding-left:" +
        (s.depth * 14) + "px\">" + esc(s.service) + ": " + esc(s.name) + " <span class=\"meta\">" +
        (kinds[s.kind] || s.kind) + (s.status === 2 ? " <span class=\"err\">error</span>" : "") +
        "</span></div><div class=\"track\"><div class=\"bar" + (s.status === 2 ? " error" : "") +
        "\" style=\"left:" + (100 * s.offset_ms / end).toFixed(3) + "%;width:" +
        (100 * s.duration_ms / end).toFixed(3) + "%\" title=\"" + s.duration_ms.toFixed(3) +
        " ms\"></div></div></div><div class=\"details\">span <code>" + s.span_id +
        "</code> parent <code>" + (s.parent || "none") + "</code> \u00b7 starts at " +
        s.offset_ms.toFixed(3) + " ms, lasts " + s.duration_ms.toFixed(3) + " ms \u00b7 status " +
        (statuses[s.status] || s.status) + (s.status_message ? ": " + esc(s.status_message) : "") +
        kv(s.attributes) + s.events.map((e) => "<div>event <b>" + esc(e.name) + "</b> at " +
            e.offset_ms.toFixed(3) + " ms" + kv(e.attributes) + "</div>").join("") + "</div>";
  }
  html += "</div>";
  if (t.logs.length) {
    html += "<h2>Its log records</h2><table id=\"trace-logs\"><tr><th>at ms</th><th class=\"l\">" +
        "service</th><th class=\"l\">severity</th><th class=\"l\">span</th><th class=\"l\">body</th></tr>" +
        t.logs.map((l) => "<tr><td>" + l.offset_ms.toFixed(3) + "</td><td class=\"l\">" +
            esc(l.service) + "</td><td class=\"l\">" + esc(l.severity_text || l.severity) +
            "</td><td class=\"l\"><code>" + l.span_id + "</code></td><td class=\"l\">" +
            esc(l.body) + "</td></tr>").join("") + "</table>";
  }
  $("trace").innerHTML = html;
}
$("traces").addEventListener("click", (e) => {
  const row = e.target.closest("tr.row");
  if (row) openTrace(row.dataset.id);
});
$("trace").addEventListener("click", (e) => {
  const span = e.target.closest(".span");
  if (span) span.classList.toggle("open");
});
$("find").addEventListener("click", () => openTrace($("trace-id").value));
$("service").addEventListener("change", showTraces);
$("errors-only").addEventListener("change", showTraces);
async function refresh() {
  try {
    showSummary(await (await fetch("/api/summary", {cache: "no-store"})).json());
    rows = await (await fetch("/api/traces", {cache: "no-store"})).json();
    const services = new Set();
    rows.forEach((r) => r.services.forEach((s) => services.add(s)));
    const select = $("service"), chosen = select.value;
    const have = new Set(Array.from(select.options).map((o) => o.value));
    for (const s of Array.from(services).sort()) {
      if (!have.has(s)) select.add(new Option(s, s));
    }
    select.value = chosen;
    showTraces();
    document.body.dataset.refreshes = Number(document.body.dataset.refreshes || 0) + 1;
  } catch (e) {
    $("meta").textContent = "the sink is gone";
  }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
)PAGE";

bool IsHexId(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

HttpServer::Handler SinkUiHandler(const OtlpSink& sink, const TraceStore& store, bool validating) {
  return [&sink, &store, validating](const HttpRequest& r) -> HttpResponse {
    constexpr const char* kJson = "application/json";
    constexpr const char* kText = "text/plain; charset=utf-8";
    if (r.method != "GET") return {405, kText, "only GET\n"};
    if (r.path == "/") return {200, "text/html; charset=utf-8", kPage};
    if (r.path == "/api/summary") return {200, kJson, SummaryJson(sink, store, validating)};
    if (r.path == "/api/traces") return {200, kJson, TracesJson(store)};
    constexpr std::string_view kTrace = "/api/trace/";
    if (r.path.starts_with(kTrace)) {
      const std::string_view id = std::string_view(r.path).substr(kTrace.size());
      if (!IsHexId(id)) {
        return {400, kText, "a trace ID is 32 lower-case hex digits\n"};
      }
      auto trace = store.TraceJson(id);
      if (!trace) {
        return {404, kText,
                "trace " + std::string(id) +
                    " is not kept: it never arrived, or older traces were dropped "
                    "(--keep-traces)\n"};
      }
      return {200, kJson, *std::move(trace)};
    }
    return {404, kText, "try /, /api/summary, /api/traces or /api/trace/<id>\n"};
  };
}

}  // namespace loadgen

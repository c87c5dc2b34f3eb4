// The live dashboard's page and its status JSON (admin.h). The page is one document
// with its style and a small script: every second it reads /api/status into its
// fields and swaps in /api/charts, which the report's chart code draws.
#include <algorithm>

#include "common/otlp_signal.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "sender/modes/admin.h"
#include "sender/modes/html_report.h"

namespace loadgen {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kDashboardStyle = R"(<style>
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid #ddd;border-radius:4px;padding:8px 14px;min-width:120px;background:#fafafa}
.card .label{color:#555;font-size:12px}.card .value{font-size:22px;font-weight:600}
.controls{margin:12px 0;padding:10px;border:1px solid #ddd;border-radius:4px}
.controls input{width:120px}.note{color:#555;margin-left:8px}
#state{font-weight:400;color:#555;font-size:15px}
</style>)";

constexpr const char* kScript = R"(<script>
"use strict";
const $ = (id) => document.getElementById(id);
const num = (v) => v == null ? "-" : Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(2) + "M"
    : Math.abs(v) >= 1e4 ? (v / 1e3).toFixed(1) + "k" : Number(v).toFixed(0);
const secs = (v) => v == null ? "-" : v.toFixed(1) + " s";
const esc = (s) => String(s).replace(/[&<>"]/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"})[c]);
function show(s) {
  $("state").textContent = s.state;
  $("meta").textContent = s.endpoint + " \u00b7 " + s.protocol + " \u00b7 rate " + s.rate +
      " \u00b7 duration " + (s.duration_seconds == null ? "none" : s.duration_seconds + " s") +
      " \u00b7 multiplier " + (s.multiplier === 0 ? "unlimited" : s.multiplier);
  $("target").textContent = s.target_rate == null ? "unlimited" : num(s.target_rate) + "/s";
  $("achieved").textContent = num(s.achieved_rate) + "/s";
  $("achieved").dataset.value = s.achieved_rate;
  $("elapsed").textContent = secs(s.elapsed_seconds);
  $("remaining").textContent = secs(s.remaining_seconds);
  $("in-flight").textContent = s.in_flight;
  $("lag").textContent = s.lag_ms == null ? "-" : s.lag_ms.toFixed(0) + " ms";
  let rows = "";
  for (const [name, t] of Object.entries(s.signals)) {
    rows += "<tr><td>" + name + "</td><td>" + t.sent + "</td><td>" + t.accepted + "</td><td>" +
        t.rejected + "</td><td>" + t.failed + "</td><td>" + t.retries + "</td><td>" +
        num(t.rate) + "</td><td>" + t.p50_ms.toFixed(2) + "</td><td>" + t.p99_ms.toFixed(2) +
        "</td></tr>";
  }
  $("totals-body").innerHTML = rows;
  $("errors").innerHTML = s.errors.length == 0 ? "" : "<h2>Errors by kind</h2><ul>" +
      s.errors.map((e) => "<li class=\"err\">" + esc(e.signal) + " " + esc(e.kind) + " \u00d7" +
          e.count + ": " + esc(e.message) + "</li>").join("") + "</ul>";
  if (s.capacity == null) {
    $("capacity").innerHTML = "";
  } else {
    let html = "<h2>Capacity search</h2><p>" + (s.capacity.measuring > 0
        ? "measuring " + num(s.capacity.measuring) + "/s" : "between steps") + "</p>" +
        "<table><tr><th>target</th><th>achieved</th><th>errors</th><th>p99 ms</th>" +
        "<th>lag ms</th><th>verdict</th></tr>";
    for (const st of s.capacity.steps) {
      html += "<tr><td>" + num(st.target) + "</td><td>" + num(st.achieved) + "</td><td>" +
          (st.error_share * 100).toFixed(2) + "%</td><td>" + st.p99_ms.toFixed(1) +
          "</td><td>" + st.lag_ms.toFixed(0) + "</td><td>" +
          (st.held ? "held" : "broke: " + esc(st.broke)) + "</td></tr>";
    }
    $("capacity").innerHTML = html + "</table>";
  }
}
let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const status = await fetch("/api/status", {cache: "no-store"});
    show(await status.json());
    const charts = await fetch("/api/charts", {cache: "no-store"});
    $("charts").innerHTML = await charts.text();
    document.body.dataset.refreshes = Number(document.body.dataset.refreshes || 0) + 1;
  } catch (e) {
    $("state").textContent = "ended: the sender is gone";
  } finally {
    busy = false;
  }
}
async function control(method, path, body) {
  const r = await fetch(path, {method: method, body: body});
  $("control-result").textContent = r.ok ? "done" : await r.text();
  refresh();
}
$("rate-set").addEventListener("click", () => control("PUT", "/rate", $("rate-input").value));
$("stop").addEventListener("click", () => control("POST", "/stop"));
refresh();
setInterval(refresh, 1000);
</script>)";

}  // namespace

std::string DashboardPage(const AdminOptions& options) {
  const std::string disabled = options.allow_rate_change ? "" : " disabled";
  const std::string note =
      options.allow_rate_change
          ? "changes are logged by the sender"
          : "disabled: start the sender with --allow-rate-change (admin.allow_rate_change)";
  return StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>telemetry-sender</title>",
      ReportStyle(), kDashboardStyle,
      "</head><body>\n<h1>telemetry-sender <span id=\"state\">connecting</span></h1>\n"
      "<p class=\"meta\" id=\"meta\"></p>\n<div class=\"cards\">",
      "<div class=\"card\"><div class=\"label\">target</div><div class=\"value\" "
      "id=\"target\">-</div></div>",
      "<div class=\"card\"><div class=\"label\">achieved, last second</div><div class=\"value\" "
      "id=\"achieved\">-</div></div>",
      "<div class=\"card\"><div class=\"label\">elapsed</div><div class=\"value\" "
      "id=\"elapsed\">-</div></div>",
      "<div class=\"card\"><div class=\"label\">remaining</div><div class=\"value\" "
      "id=\"remaining\">-</div></div>",
      "<div class=\"card\"><div class=\"label\">requests in flight</div><div class=\"value\" "
      "id=\"in-flight\">-</div></div>",
      "<div class=\"card\"><div class=\"label\">schedule lag</div><div class=\"value\" "
      "id=\"lag\">-</div></div></div>\n",
      "<div class=\"controls\"><label>target rate (events/s) <input id=\"rate-input\" "
      "type=\"number\" min=\"1\" step=\"any\"",
      disabled, "></label> <button id=\"rate-set\"", disabled,
      ">set rate</button> <button id=\"stop\"", disabled,
      ">stop the run</button><span class=\"note\" id=\"controls-note\">", HtmlEscape(note),
      "</span> <span class=\"note\" id=\"control-result\"></span></div>\n",
      "<h2>Totals</h2><table><thead><tr><th>signal</th><th>sent</th><th>accepted</th>"
      "<th>rejected</th><th>failed</th><th>retries</th><th>events/s now</th><th>p50 ms</th>"
      "<th>p99 ms</th></tr></thead><tbody id=\"totals-body\"></tbody></table>\n",
      "<div id=\"errors\"></div><div id=\"capacity\"></div><div id=\"charts\"></div>\n", kScript,
      "</body></html>\n");
}

std::string DashboardStatusJson(const AdminOptions& options, const AdminContext& c,
                                int64_t now_ns) {
  Json j;
  const int64_t start = c.run != nullptr ? c.run->start_ns.load() : 0;
  const bool stopping = c.stop != nullptr && c.stop->stopped();
  j["state"] = stopping ? "stopping" : start == 0 ? "starting" : "running";
  j["endpoint"] = c.run != nullptr ? c.run->endpoint : "";
  j["protocol"] = c.run != nullptr ? c.run->protocol : "";
  j["rate"] = c.run != nullptr ? c.run->rate_text : "";
  j["target_rate"] = c.limiter != nullptr ? Json(c.limiter->TargetRate()) : Json();
  const double elapsed = start > 0 ? (now_ns - start) / 1e9 : 0;
  j["elapsed_seconds"] = elapsed;
  const int64_t duration = c.run != nullptr ? c.run->duration_ns : 0;
  j["duration_seconds"] = duration > 0 ? Json(duration / 1e9) : Json();
  j["remaining_seconds"] = duration > 0 ? Json(std::max(0.0, duration / 1e9 - elapsed)) : Json();
  j["multiplier"] = c.run != nullptr ? c.run->multiplier : 0;
  // Rates and latency of the last whole interval of the live reporter (one second).
  IntervalRecord last;
  if (c.live != nullptr) {
    const std::vector<IntervalRecord> records = c.live->intervals();
    if (!records.empty()) last = records.back();
  }
  j["achieved_rate"] = last.achieved_rate();
  Json& signals = j["signals"] = Json::object();
  Json errors = Json::array();
  for (Signal s : kAllSignals) {
    for (const RunStats::ErrorKind& e : c.stats->Errors(s)) {
      errors.push_back({{"signal", SignalName(s)},
                        {"kind", e.kind},
                        {"count", e.count},
                        {"message", e.first_message}});
    }
    const SignalSnapshot snap = c.stats->Snapshot(s);
    if (snap.requests == 0 && snap.retries == 0) continue;
    signals[SignalName(s)] = {
        {"sent", snap.events_sent},
        {"accepted", snap.events_accepted},
        {"rejected", snap.events_rejected},
        {"failed", snap.events_failed},
        {"retries", snap.retries},
        {"rate", last.seconds > 0 ? last.accepted[SignalIndex(s)] / last.seconds : 0},
        {"p50_ms", snap.p50_ns / 1e6},
        {"p99_ms", snap.p99_ns / 1e6},
    };
  }
  j["errors"] = errors;
  j["in_flight"] = c.stats->in_flight();
  j["lag_ms"] = c.limiter != nullptr ? Json(c.limiter->LagNs(now_ns) / 1e6) : Json();
  j["lag_max_ms"] = c.stats->lag_max_ns() / 1e6;
  j["p50_ms"] = last.p50_ns / 1e6;
  j["p99_ms"] = last.p99_ns / 1e6;
  j["intended_p99_ms"] = last.intended_p99_ns / 1e6;
  if (c.capacity != nullptr) {
    const CapacityProgress::View view = c.capacity->Get();
    Json steps = Json::array();
    for (const CapacityStep& st : view.steps) {
      steps.push_back({{"target", st.target},
                       {"achieved", st.achieved},
                       {"error_share", st.error_share},
                       {"p99_ms", st.p99_ms},
                       {"lag_ms", st.lag_ms},
                       {"held", st.held},
                       {"broke", st.broke}});
    }
    j["capacity"] = {{"measuring", view.measuring}, {"steps", steps}};
  } else {
    j["capacity"] = nullptr;
  }
  j["controls"] = {{"enabled", options.allow_rate_change}};
  // Error messages come from receivers: bytes that are not UTF-8 are replaced.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace loadgen

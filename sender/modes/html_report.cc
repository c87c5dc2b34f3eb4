#include "sender/modes/html_report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/otlp_signal.h"
#include "common/strings.h"

namespace loadgen {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string Html(std::string_view s) { return HtmlEscape(s); }

std::string Num(double v) {
  const char* suffix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::abs(v) >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  return fmt::format("{:.{}f}{}", v, (i > 0 && std::abs(v) < 10) ? 1 : 0, suffix[i]);
}

// A step for axis ticks: 1, 2 or 5 times a power of ten, about five per axis.
double NiceStep(double range) {
  if (range <= 0) return 1;
  const double raw = range / 5;
  const double p = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

struct Series {
  std::string name, color;
  std::vector<double> values;
  bool dashed = false;
};

// A line chart as inline SVG. x: seconds since the start.
std::string LineChart(const std::string& title, const std::string& unit,
                      const std::vector<double>& x, const std::vector<Series>& series) {
  constexpr double W = 560, H = 260, L = 64, R = 16, T = 34, B = 40;
  double ymax = 0, xmax = x.empty() ? 1 : x.back();
  for (const Series& s : series) {
    for (double v : s.values) ymax = std::max(ymax, v);
  }
  if (ymax <= 0) ymax = 1;
  const double ystep = NiceStep(ymax);
  ymax = std::ceil(ymax / ystep) * ystep;
  const double xstep = NiceStep(xmax);
  auto px = [&](double v) { return L + (W - L - R) * v / std::max(xmax, 1e-9); };
  auto py = [&](double v) { return T + (H - T - B) * (1 - v / ymax); };
  std::string svg = fmt::format(
      "<svg class=\"chart\" role=\"img\" aria-label=\"{0}\" viewBox=\"0 0 {1} {2}\" "
      "width=\"{1}\" height=\"{2}\" xmlns=\"http://www.w3.org/2000/svg\">"
      "<text x=\"{3}\" y=\"18\" class=\"title\">{0}</text>",
      Html(title), W, H, L);
  for (double v = 0; v <= ymax + ystep / 2; v += ystep) {
    StrAppend(&svg, fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" "
                                "class=\"grid\"/><text x=\"{3}\" y=\"{4:.1f}\" class=\"tick\" "
                                "text-anchor=\"end\">{5}</text>",
                                L, W - R, py(v), L - 6, py(v) + 4,
                                ystep < 1 ? fmt::format("{:g}", v) : Num(v)));
  }
  for (double v = 0; v <= xmax + xstep / 2; v += xstep) {
    StrAppend(&svg, fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"tick\" "
                                "text-anchor=\"middle\">{}s</text>",
                                px(v), H - B + 16, xstep < 1 ? fmt::format("{:g}", v) : Num(v)));
  }
  StrAppend(&svg,
            fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\">{}</text>", L, H - 6, Html(unit)));
  double legend_x = W - R;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    legend_x -= 8 * static_cast<double>(it->name.size()) + 26;
    StrAppend(&svg, fmt::format("<rect x=\"{:.0f}\" y=\"{}\" width=\"12\" height=\"4\" "
                                "fill=\"{}\"/><text x=\"{:.0f}\" y=\"{}\" class=\"tick\">{}</text>",
                                legend_x, H - 12, it->color, legend_x + 16, H - 6, Html(it->name)));
  }
  for (const Series& s : series) {
    std::string points;
    for (size_t i = 0; i < s.values.size() && i < x.size(); ++i) {
      StrAppend(&points, fmt::format("{:.1f},{:.1f} ", px(x[i]), py(s.values[i])));
    }
    StrAppend(&svg, fmt::format("<polyline class=\"line\" data-series=\"{}\" fill=\"none\" "
                                "stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>",
                                Html(s.name), s.color, s.dashed ? " stroke-dasharray=\"6 4\"" : "",
                                points));
  }
  StrAppend(&svg, "</svg>\n");
  return svg;
}

constexpr const char* kStyle = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1180px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.meta{color:#555}table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #ddd}
th:first-child,td:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{border:1px solid #ddd;border-radius:4px;background:#fff}
.chart .title{font-weight:600;font-size:13px}.chart .tick{font-size:11px;fill:#555}
.chart .grid{stroke:#eee}.err{color:#a00}
</style>)";

// The run's line: endpoint, length, rate, how it ended.
std::string HeadHtml(const RunSummary& root) {
  const std::string target_text = !root.schedule.empty() ? root.schedule
                                  : root.target_rate > 0
                                      ? fmt::format("{:.0f} events/s", root.target_rate)
                                      : "unlimited";
  return StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>telemetry-sender report</title>",
      kStyle, "</head><body>\n<h1>telemetry-sender report</h1>\n",
      fmt::format("<p class=\"meta\">{} &middot; {:.1f} s &middot; rate {} &middot; {}{}</p>\n",
                  Html(root.endpoint.empty() ? "merged instances" : root.endpoint),
                  root.elapsed_seconds, Html(target_text), Html(root.stop_reason),
                  root.instances > 1 ? fmt::format(" &middot; {} instances", root.instances) : ""));
}

// The figures per signal, and the errors by kind.
std::string TotalsHtml(const RunSummary& root) {
  std::string html =
      "<h2>Totals</h2><table><tr><th>signal</th><th>sent</th><th>accepted</th>"
      "<th>rejected</th><th>failed</th><th>retries</th><th>requests</th>"
      "<th>events/s</th><th>p50 ms</th><th>p99 ms</th></tr>\n";
  std::string errors;
  for (Signal s : kAllSignals) {
    const SignalSummary& n = root.signals[SignalIndex(s)];
    if (!n.active()) continue;
    StrAppend(&html,
              fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                          "<td>{}</td><td>{}</td><td>{}</td><td>{:.2f}</td><td>{:.2f}</td></tr>\n",
                          SignalName(s), n.events_sent, n.events_accepted, n.events_rejected,
                          n.events_failed, n.retries, n.requests, Num(n.events_per_second),
                          n.latency.p50, n.latency.p99));
    for (const ErrorCount& e : n.errors) {
      StrAppend(&errors, fmt::format("<li class=\"err\">{} {} &times;{}: {}</li>\n", SignalName(s),
                                     Html(e.kind), e.count, Html(e.message)));
    }
  }
  StrAppend(&html, "</table>\n");
  if (!errors.empty()) StrAppend(&html, "<h2>Errors</h2><ul>", errors, "</ul>\n");
  return html;
}

std::string CapacityHtml(const CapacitySummary& cap) {
  std::string html = fmt::format(
      "<h2>Capacity</h2><p><b>{:.0f} events/s</b> sustained "
      "(achieved {:.0f}/s, errors {:.2f}%, p99 {:.1f} ms, lag {:.0f} ms)</p>"
      "<table><tr><th>target</th><th>achieved</th><th>errors</th>"
      "<th>p99 ms</th><th>lag ms</th><th>result</th></tr>\n",
      cap.sustained_rate, cap.achieved, cap.error_share * 100, cap.p99_ms, cap.lag_ms);
  for (const CapacityStepSummary& st : cap.steps) {
    StrAppend(&html, fmt::format("<tr><td>{:.0f}</td><td>{:.0f}</td><td>{:.2f}%</td>"
                                 "<td>{:.1f}</td><td>{:.0f}</td><td>{}</td></tr>\n",
                                 st.target, st.achieved, st.error_share * 100, st.p99_ms, st.lag_ms,
                                 st.held ? "held" : Html(st.broke)));
  }
  StrAppend(&html, "</table>\n");
  return html;
}

}  // namespace

std::string_view ReportStyle() { return kStyle; }

std::string ChartsHtml(const std::vector<IntervalSummary>& intervals) {
  std::vector<double> t, target, achieved, p50, p99, intended_p99, lag, late, rejected, failed,
      retries, in_flight;
  std::array<std::vector<double>, 3> mix;
  bool has_target = false;
  // A last interval much shorter than the others (the drain at the end) would show
  // rates from a few milliseconds as spikes: it is left out of the charts.
  double longest = 0;
  for (const IntervalSummary& r : intervals) longest = std::max(longest, r.seconds);
  for (const IntervalSummary& r : intervals) {
    const double seconds = std::max(1e-9, r.seconds);
    if (seconds < longest / 2) continue;
    t.push_back(r.t);
    has_target = has_target || r.target >= 0;
    target.push_back(std::max(0.0, r.target));
    achieved.push_back(r.achieved);
    p50.push_back(r.p50_ms);
    p99.push_back(r.p99_ms);
    intended_p99.push_back(r.intended_p99_ms);
    lag.push_back(r.lag_ms);
    late.push_back(r.late_requests / seconds);
    rejected.push_back(r.rejected / seconds);
    failed.push_back(r.failed / seconds);
    retries.push_back(r.retries / seconds);
    in_flight.push_back(static_cast<double>(r.in_flight));
    for (size_t i = 0; i < 3; ++i) mix[i].push_back(r.accepted[i] / seconds);
  }
  std::string html = "<h2>Over time</h2><div class=\"charts\">\n";
  std::vector<Series> rate = {{"achieved", "#1f77b4", achieved}};
  if (has_target) rate.insert(rate.begin(), {"target", "#888", target, true});
  StrAppend(&html, LineChart("Rate: target vs achieved", "events/s accepted", t, rate));
  // Service time beside the latency from the intended send time: the gap between them
  // is the time requests waited behind the schedule (coordinated omission).
  StrAppend(&html, LineChart("Request latency", "ms", t,
                             {{"p50", "#2ca02c", p50},
                              {"p99", "#d62728", p99},
                              {"p99 from intended time", "#8c564b", intended_p99}}));
  StrAppend(&html, LineChart("Schedule lag", "ms behind / late requests per second", t,
                             {{"lag ms", "#17becf", lag}, {"late requests/s", "#e377c2", late}}));
  StrAppend(&html, LineChart("Errors and retries", "per second", t,
                             {{"retries", "#ff7f0e", retries},
                              {"rejected", "#9467bd", rejected},
                              {"failed", "#d62728", failed}}));
  StrAppend(&html, LineChart("Signal mix", "events/s accepted", t,
                             {{"traces", "#1f77b4", mix[0]},
                              {"metrics", "#2ca02c", mix[1]},
                              {"logs", "#ff7f0e", mix[2]}}));
  StrAppend(&html, LineChart("Requests in flight", "at the end of each interval", t,
                             {{"in flight", "#7f7f7f", in_flight}}));
  StrAppend(&html, "</div>\n");
  if (t.empty()) StrAppend(&html, "<p>No intervals recorded (the run was shorter than one).</p>");
  return html;
}

std::string HtmlReport(const RunSummary& root) {
  return StrCat(HeadHtml(root), TotalsHtml(root), root.capacity ? CapacityHtml(*root.capacity) : "",
                ChartsHtml(root.intervals), "</body></html>\n");
}

}  // namespace loadgen

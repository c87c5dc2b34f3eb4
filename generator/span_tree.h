// The layout of a trace template's span tree, shared by random-topology traces
// (traces.cc) and scenarios (scenario.cc): how long each span lasts and where it
// starts, and the trace and span IDs. Both builders first grow a tree of nodes
// (parents before children), then call LayOutSpanTree and StampSpan.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/otlp_signal.h"
#include "common/random.h"
#include "common/template_file.h"
#include "generator/config.h"
#include "generator/otlp_draft.h"

namespace loadgen {

struct SpanTreeNode {
  // How a node relates to its only child, for the two kinds of calls that cross
  // services: a wire call (CLIENT around the callee's SERVER, a network gap each
  // side) and a message (a quick PRODUCER; the CONSUMER starts later, outside it).
  enum class Link { kLocal, kWire, kMessage };
  Link link = Link::kLocal;
  int parent = -1;
  std::vector<int> children;
  int64_t self_ns = 0;  // Work of its own, half before its children and half after.
  // Children run in parallel; or, with parallel_chance > 0, decide at layout time
  // (for nodes with two children or more).
  bool parallel = false;
  double parallel_chance = 0;
  int64_t rel_start_ns = 0;  // Relative to the parent's start.
  int64_t start_ns = 0;      // Relative to the trace start.
  int64_t dur_ns = 0;
};

// Durations bottom-up (children always come after their parent), then starts
// top-down. `prepare(i)` runs for each node just before its duration is worked out,
// so a builder can draw its self time there; the draws' order is part of the output.
template <typename Node, typename Prepare>
void LayOutSpanTree(std::vector<Node>& nodes, Rng& rng, Prepare prepare) {
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    prepare(i);
    SpanTreeNode& n = nodes[i];
    if (n.link == SpanTreeNode::Link::kWire) {
      const int64_t gap = rng.Range(100, 800) * 1000;
      SpanTreeNode& callee = nodes[n.children[0]];
      callee.rel_start_ns = gap;
      n.dur_ns = callee.dur_ns + 2 * gap;
      continue;
    }
    if (n.link == SpanTreeNode::Link::kMessage) {
      n.dur_ns = rng.Range(200, 2000) * 1000;
      nodes[n.children[0]].rel_start_ns = n.dur_ns + rng.Range(1000, 20000) * 1000;
      continue;
    }
    int64_t cursor = n.self_ns / 2, longest = 0;
    const bool parallel = n.parallel || (n.parallel_chance > 0 && n.children.size() >= 2 &&
                                         rng.Chance(n.parallel_chance));
    for (int c : n.children) {
      SpanTreeNode& child = nodes[c];
      if (parallel) {
        child.rel_start_ns = cursor + rng.Range(0, 50) * 1000;
        longest = std::max(longest, child.rel_start_ns + child.dur_ns - cursor);
      } else {
        child.rel_start_ns = cursor;
        cursor += child.dur_ns + rng.Range(10, 100) * 1000;
      }
    }
    if (parallel) cursor += longest;
    n.dur_ns = cursor + n.self_ns - n.self_ns / 2;
  }
  for (size_t i = 1; i < nodes.size(); ++i) {
    nodes[i].start_ns = nodes[nodes[i].parent].start_ns + nodes[i].rel_start_ns;
  }
}

// Placeholder IDs for one trace: unique within it (the sender replaces them per send),
// and how its root is drawn (drawn only when a share is set, so that other datasets
// keep their bytes).
struct SpanTreeIds {
  uint8_t trace_id[16];
  std::vector<uint64_t> span_ids;
  uint64_t root_parent = 0;
  int64_t late_root_delay_ms = 0;  // > 0: the root is late.
  SpanTreeIds(Rng& rng, size_t spans, const RootShapes& roots = {}) {
    rng.FillId(trace_id, 16);
    const double draw = roots.rootless_share > 0 || roots.late_share > 0 ? rng.Unit() : 1;
    const bool rootless = draw < roots.rootless_share;
    if (!rootless && spans > 1 && draw < roots.rootless_share + roots.late_share) {
      late_root_delay_ms = roots.late_delay_ms;
    }
    span_ids = UniqueSpanIds(rng, spans + (rootless ? 1 : 0));
    if (rootless) {
      root_parent = span_ids.back();
      span_ids.pop_back();
    }
  }
};

// Node i's IDs (its parent's as parent_span_id) and its times on the template epoch.
// A rootless trace's root has a remote parent (flags: is_remote known and set); a late
// root carries its mark.
inline void StampSpan(const SpanTreeIds& ids, const SpanTreeNode& n, size_t i, SpanDraft* span) {
  std::memcpy(span->trace_id, ids.trace_id, 16);
  span->span_id = ids.span_ids[i];
  span->parent_span_id = n.parent >= 0 ? ids.span_ids[n.parent] : ids.root_parent;
  span->start_ns = kTemplateEpochNs + n.start_ns;
  span->end_ns = kTemplateEpochNs + n.start_ns + n.dur_ns;
  if (n.parent < 0 && ids.late_root_delay_ms > 0) {
    span->attributes.Int(kLateRootDelayAttribute, ids.late_root_delay_ms);
  }
}

}  // namespace loadgen

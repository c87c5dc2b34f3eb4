// Early-return helpers for absl::Status, so error paths stay one line each.
#pragma once

#include "absl/status/status.h"

#define LOADGEN_CONCAT_INNER(a, b) a##b
#define LOADGEN_CONCAT(a, b) LOADGEN_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    if (auto _st = (expr); !_st.ok()) return _st; \
  } while (0)

// ASSIGN_OR_RETURN(auto x, StatusOrExpr()) — declares x from the value or returns.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(LOADGEN_CONCAT(_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = *std::move(tmp)

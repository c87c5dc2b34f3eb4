#include "common/otlp_wire.h"

#include <algorithm>
#include <array>

#include "absl/time/time.h"
#include "common/strings.h"
#include "common/wire.h"

namespace loadgen::otlp {
namespace {

constexpr std::string_view kRetryInfoType = "type.googleapis.com/google.rpc.RetryInfo";

constexpr std::array<std::string_view, 17> kCodeNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

std::string_view Bytes(const wire::Field& f) {
  return {reinterpret_cast<const char*>(f.data), f.size};
}

}  // namespace

std::string EncodeExportResponse(const PartialSuccess& p) {
  std::string body;
  if (p.rejected <= 0 && p.message.empty()) return body;
  std::string partial;
  wire::AppendVarintField(&partial, 1, static_cast<uint64_t>(p.rejected));
  wire::AppendLenField(&partial, 2, p.message);
  wire::AppendLenField(&body, 1, partial);
  return body;
}

PartialSuccess DecodeExportResponse(std::string_view response) {
  PartialSuccess p;
  wire::FieldReader r(response);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number != 1 || f.type != wire::kLen) continue;
    wire::FieldReader pr(f.data, f.size);
    wire::Field pf;
    while (pr.Next(&pf)) {
      if (pf.number == 1 && pf.type == wire::kVarint) p.rejected = static_cast<int64_t>(pf.varint);
      if (pf.number == 2 && pf.type == wire::kLen) p.message.assign(Bytes(pf));
    }
  }
  return p;
}

std::string EncodeStatus(grpc::StatusCode code, std::string_view message, int64_t retry_delay_ns) {
  std::string status;
  wire::AppendVarintField(&status, 1, static_cast<uint64_t>(code));
  wire::AppendLenField(&status, 2, message);
  if (retry_delay_ns > 0) {
    std::string duration, retry_info, any;
    wire::AppendVarintField(&duration, 1, static_cast<uint64_t>(retry_delay_ns / 1000000000));
    wire::AppendVarintField(&duration, 2, static_cast<uint64_t>(retry_delay_ns % 1000000000));
    wire::AppendLenField(&retry_info, 1, duration);
    wire::AppendLenField(&any, 1, kRetryInfoType);
    wire::AppendLenField(&any, 2, retry_info);
    wire::AppendLenField(&status, 3, any);
  }
  return status;
}

int64_t RetryDelayNs(std::string_view status_bytes) {
  int64_t delay = -1;
  wire::FieldReader status(status_bytes);
  wire::Field f;
  while (status.Next(&f)) {
    if (f.number != 3 || f.type != wire::kLen) continue;
    std::string_view type_url, value;
    wire::FieldReader any(f.data, f.size);
    wire::Field af;
    while (any.Next(&af)) {
      if (af.type != wire::kLen) continue;
      if (af.number == 1) type_url = Bytes(af);
      if (af.number == 2) value = Bytes(af);
    }
    if (type_url != kRetryInfoType) continue;
    delay = 0;
    wire::FieldReader info(value);
    wire::Field rf;
    while (info.Next(&rf)) {
      if (rf.number != 1 || rf.type != wire::kLen) continue;
      wire::FieldReader duration(rf.data, rf.size);
      wire::Field df;
      while (duration.Next(&df)) {
        if (df.type != wire::kVarint) continue;
        if (df.number == 1) delay += static_cast<int64_t>(df.varint) * 1000000000;
        if (df.number == 2) delay += static_cast<int64_t>(df.varint);
      }
    }
  }
  return delay;
}

std::string_view StatusCodeName(grpc::StatusCode code) {
  const auto i = static_cast<size_t>(code);
  return i < kCodeNames.size() ? kCodeNames[i] : "UNKNOWN";
}

std::optional<grpc::StatusCode> ParseStatusCode(std::string_view name) {
  for (size_t i = 1; i < kCodeNames.size(); ++i) {
    if (name == kCodeNames[i]) return static_cast<grpc::StatusCode>(i);
  }
  int64_t n = 0;
  if (ParseInt64(name, &n) && n >= 1 && n < static_cast<int64_t>(kCodeNames.size())) {
    return static_cast<grpc::StatusCode>(n);
  }
  return std::nullopt;
}

bool IsRetryable(grpc::StatusCode code, bool has_retry_info) {
  switch (code) {
    case grpc::CANCELLED:
    case grpc::DEADLINE_EXCEEDED:
    case grpc::ABORTED:
    case grpc::OUT_OF_RANGE:
    case grpc::UNAVAILABLE:
    case grpc::DATA_LOSS: return true;
    case grpc::RESOURCE_EXHAUSTED: return has_retry_info;
    default: return false;
  }
}

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::UNAVAILABLE: return 503;
    case grpc::RESOURCE_EXHAUSTED: return 429;
    case grpc::INVALID_ARGUMENT: return 400;
    case grpc::UNAUTHENTICATED: return 401;
    case grpc::PERMISSION_DENIED: return 403;
    default: return 500;
  }
}

bool IsRetryableHttpStatus(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

int64_t RetryAfterNs(std::string_view value, int64_t now_unix_ns) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return -1;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 10) return -1;  // Past 2^31 s: not a delay anyone means.
    return static_cast<int64_t>(std::stoll(std::string(value))) * 1'000'000'000;
  }
  // The IMF-fixdate form of an HTTP-date (RFC 9110 section 5.6.7), always in GMT.
  absl::Time at;
  std::string error;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), &at, &error)) return -1;
  return std::max<int64_t>(0, absl::ToUnixNanos(at) - now_unix_ns);
}

grpc::StatusCode GrpcCodeForHttpStatus(long status) {
  switch (status) {
    case 400: return grpc::INTERNAL;
    case 401: return grpc::UNAUTHENTICATED;
    case 403: return grpc::PERMISSION_DENIED;
    case 404: return grpc::UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return grpc::UNAVAILABLE;
    default: return grpc::UNKNOWN;
  }
}

std::string PercentDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace loadgen::otlp

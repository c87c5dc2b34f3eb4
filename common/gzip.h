// gzip (RFC 1952) with zlib, as OTLP/HTTP and gRPC's gzip encoding use it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loadgen {

std::string GzipCompress(std::string_view data);
// Fails on a corrupt stream or when the output would exceed `max_bytes`.
absl::StatusOr<std::string> GzipDecompress(std::string_view data, size_t max_bytes);

}  // namespace loadgen

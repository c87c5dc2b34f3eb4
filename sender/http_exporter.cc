#include "sender/http_exporter.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/otlp_wire.h"
#include "common/strings.h"
#include "common/wire.h"
#include "sender/call_queue.h"

namespace loadgen {
namespace {

// A google.rpc.Status body's message (field 2), or the body itself if it is not one.
std::string StatusMessage(const std::string& body) {
  wire::FieldReader r(body);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number == 2 && f.type == wire::kLen) {
      return std::string(reinterpret_cast<const char*>(f.data), f.size);
    }
  }
  std::string text = body.substr(0, 200);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

struct HttpCall : internal::CallBase {
  std::string body;  // As sent: compressed when compression is on.
  std::string response;
  std::string retry_after;
  CURL* easy = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  int64_t attempt_started_ns = 0;
};

// A header line's value if its name is `name` (case-insensitive), else nullopt.
std::optional<std::string_view> HeaderValue(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':' ||
      strncasecmp(line.data(), name.data(), name.size()) != 0) {
    return std::nullopt;
  }
  line.remove_prefix(name.size() + 1);
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  return line;
}

class HttpExporter : public CallQueueExporter<HttpExporter, HttpCall> {
 public:
  HttpExporter(const ExporterOptions& options, Signal signal, RunStats* stats)
      : CallQueueExporter(options, signal, stats),
        url_(options.http_urls[SignalIndex(signal)]),
        rng_(reinterpret_cast<uintptr_t>(this) ^ static_cast<uint64_t>(SteadyClock().NowNs())) {
    static std::once_flag init;
    std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(options.max_in_flight));
    headers_ = curl_slist_append(headers_, "Content-Type: application/x-protobuf");
    if (options.compression != Compression::kNone) {
      headers_ = curl_slist_append(
          headers_, StrCat("Content-Encoding: ", CompressionName(options.compression)).c_str());
    }
    for (const auto& [k, v] : options.headers) {
      headers_ = curl_slist_append(headers_, StrCat(k, ": ", v).c_str());
    }
  }

  ~HttpExporter() override {
    Drain(/*abandon_retries=*/true);
    for (CURL* e : idle_) curl_easy_cleanup(e);
    curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }

 private:
  friend class CallQueueExporter<HttpExporter, HttpCall>;

  uint8_t* Buffer(size_t n) {
    pending_ = std::make_unique<HttpCall>();
    pending_->body.resize(n);
    return reinterpret_cast<uint8_t*>(pending_->body.data());
  }

  void Start(const RequestInfo& request, size_t raw_bytes) {
    HttpCall* call = pending_.release();
    call->bytes = raw_bytes;
    call->wire_bytes = call->body.size();
    Begin(call, request);
    StartAttempt(call);
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    static_cast<HttpCall*>(user)->response.append(data, size * n);
    return size * n;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    if (auto v = HeaderValue(std::string_view(data, size * n), "retry-after")) {
      static_cast<HttpCall*>(user)->retry_after = std::string(*v);
    }
    return size * n;
  }

  void StartAttempt(HttpCall* call) {
    ++call->attempt;
    call->response.clear();
    call->retry_after.clear();
    if (call->easy == nullptr) {
      if (idle_.empty()) {
        call->easy = curl_easy_init();
      } else {
        call->easy = idle_.back();
        idle_.pop_back();
      }
    }
    CURL* e = call->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call->body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "telemetry-sender/0.1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpExporter::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HttpExporter::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count() / 1000000));
    // No "Expect: 100-continue" round trip for large bodies.
    curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    if (!options_.tls_ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, options_.tls_ca_file.c_str());
    if (!options_.tls_cert_file.empty()) {
      curl_easy_setopt(e, CURLOPT_SSLCERT, options_.tls_cert_file.c_str());
      curl_easy_setopt(e, CURLOPT_SSLKEY, options_.tls_key_file.c_str());
    }
    call->error[0] = '\0';
    call->attempt_started_ns = SteadyClock().NowNs();
    curl_multi_add_handle(multi_, e);
  }

  void Pump(int64_t wait_until_ns) {
    const int64_t now = SteadyClock().NowNs();
    StartDueRetries(now);
    int running = 0;
    curl_multi_perform(multi_, &running);
    if (!Collect() && wait_until_ns > now) {
      const int64_t until = WaitLimit(wait_until_ns);
      const int64_t ms = until == kForever ? 1000 : std::max<int64_t>(0, (until - now) / 1000000);
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::min<int64_t>(ms, 1000)), nullptr);
      curl_multi_perform(multi_, &running);
      Collect();
    }
  }

  // Handles finished transfers; true if there were any.
  bool Collect() {
    bool any = false;
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      HttpCall* call = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &call);
      const CURLcode result = m->data.result;
      curl_multi_remove_handle(multi_, m->easy_handle);
      stats_->of(signal_).latency.Record(SteadyClock().NowNs() - call->attempt_started_ns);
      Complete(call, result);
      any = true;
    }
    return any;
  }

  std::string TransportError(HttpCall* call, CURLcode result) const {
    return call->error[0] ? call->error : curl_easy_strerror(result);
  }

  void Complete(HttpCall* call, CURLcode result) {
    const int64_t now = SteadyClock().NowNs();
    long status = 0;
    if (result == CURLE_OK) curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
    const bool ok = result == CURLE_OK && status >= 200 && status < 300;
    // Transport errors and 429/502/503/504 are worth another try (OTLP/HTTP spec).
    const bool retryable = result != CURLE_OK || otlp::IsRetryableHttpStatus(status);
    const std::string kind = result != CURLE_OK ? "connection error" : StrCat("HTTP ", status);
    const std::string message =
        result != CURLE_OK ? TransportError(call, result) : StatusMessage(call->response);
    if (!ok && retryable && options_.retry.enabled) {
      const int64_t server_delay =
          call->retry_after.empty()
              ? -1
              : otlp::RetryAfterNs(call->retry_after, static_cast<int64_t>(WallNowNs()));
      const int64_t delay = RetryBackoffNs(options_.retry, call->attempt, server_delay, &rng_);
      if (now + delay - call->first_started_ns <= options_.retry.max_elapsed_time.count()) {
        outcomes_.Retried(kind, message);
        RetryAt(now + delay, call);
        return;
      }
    }
    if (ok) {
      outcomes_.Accepted(*call, call->response);
    } else if (!retryable) {
      outcomes_.Rejected(*call, kind, message);
    } else {
      outcomes_.Failed(*call, kind, message);
    }
    Finish(call);
  }

  void Release(HttpCall* call) {
    if (call->easy != nullptr) idle_.push_back(call->easy);
  }

  std::string url_;
  Rng rng_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::vector<CURL*> idle_;  // Easy handles to reuse (their connections stay open).
  std::unique_ptr<HttpCall> pending_;
};

}  // namespace

std::unique_ptr<Exporter> MakeHttpExporter(const ExporterOptions& options, Signal signal,
                                           RunStats* stats) {
  return std::make_unique<HttpExporter>(options, signal, stats);
}

}  // namespace loadgen

// Debian's headless Chromium, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: the browser reads commands on its fd 3 and writes replies
// and events on its fd 4, each a JSON message ended by a NUL), so a test can load a
// page, run script in it, click, wait for what the page shows, and take a screenshot.
// Nothing is fetched but the pages a test opens. Throws std::runtime_error on failure.
#pragma once

#include <sys/types.h>

#include <string>

#include "nlohmann/json.hpp"

namespace loadgen::testing {

class HeadlessBrowser {
 public:
  HeadlessBrowser();
  ~HeadlessBrowser();
  HeadlessBrowser(const HeadlessBrowser&) = delete;
  HeadlessBrowser& operator=(const HeadlessBrowser&) = delete;

  // Opens `url` in a page of `width` x `height` and waits for its load event.
  void Open(const std::string& url, int width = 1240, int height = 1400);
  // The value of `expression` in the page (a promise is awaited); throws when it throws.
  nlohmann::json Eval(const std::string& expression);
  // Waits, in the page, until `condition` (an expression) is true; throws after
  // `timeout_ms` with the condition in the message.
  void WaitFor(const std::string& condition, int timeout_ms = 15000);
  // Writes a PNG of the whole page to `path`.
  void Screenshot(const std::string& path);

 private:
  nlohmann::json Call(const std::string& method, const nlohmann::json& params, bool in_page = true);
  nlohmann::json Read();  // The next message.
  void WaitForEvent(const std::string& method);
  pid_t pid_ = -1;
  int to_browser_ = -1, from_browser_ = -1;
  std::string buffer_, profile_dir_, session_;
  int next_id_ = 0;
  std::vector<nlohmann::json> events_;  // Read while waiting for a reply.
};

}  // namespace loadgen::testing

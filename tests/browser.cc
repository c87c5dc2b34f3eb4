#include "tests/browser.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace loadgen::testing {
namespace {

constexpr int kReplyTimeoutMs = 60000;

std::string DecodeBase64(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) continue;
    bits = bits << 6 | static_cast<uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>(bits >> 16));
      out.push_back(static_cast<char>(bits >> 8 & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      count = 0;
    }
  }
  if (count == 3) {
    out.push_back(static_cast<char>(bits >> 10));
    out.push_back(static_cast<char>(bits >> 2 & 0xff));
  } else if (count == 2) {
    out.push_back(static_cast<char>(bits >> 4));
  }
  return out;
}

}  // namespace

HeadlessBrowser::HeadlessBrowser() {
  char dir[] = "/tmp/loadgen-chromium-XXXXXX";
  if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  profile_dir_ = dir;
  int to[2], from[2];
  if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // fds 3 and 4 as the protocol wants them (dup2 clears close-on-exec).
    const int in = fcntl(to[0], F_DUPFD, 10), out = fcntl(from[1], F_DUPFD, 10);
    dup2(in, 3);
    dup2(out, 4);
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    const std::string profile = "--user-data-dir=" + profile_dir_;
    execl("/usr/bin/chromium", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
          "--remote-debugging-pipe", "--no-first-run", "--hide-scrollbars", profile.c_str(),
          "about:blank", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  to_browser_ = to[1];
  from_browser_ = from[0];
}

HeadlessBrowser::~HeadlessBrowser() {
  if (pid_ > 0) {
    try {
      Call("Browser.close", nlohmann::json::object(), /*in_page=*/false);
    } catch (const std::exception&) {
      kill(pid_, SIGKILL);
    }
    close(to_browser_);
    close(from_browser_);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(profile_dir_, ignored);
}

nlohmann::json HeadlessBrowser::Read() {
  while (true) {
    const size_t end = buffer_.find('\0');
    if (end != std::string::npos) {
      nlohmann::json message = nlohmann::json::parse(buffer_.substr(0, end));
      buffer_.erase(0, end + 1);
      return message;
    }
    pollfd p{from_browser_, POLLIN, 0};
    if (poll(&p, 1, kReplyTimeoutMs) <= 0) {
      throw std::runtime_error("no word from Chromium within 60 s");
    }
    char chunk[65536];
    const ssize_t n = read(from_browser_, chunk, sizeof(chunk));
    if (n <= 0) throw std::runtime_error("Chromium closed its DevTools pipe");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

nlohmann::json HeadlessBrowser::Call(const std::string& method, const nlohmann::json& params,
                                     bool in_page) {
  const int id = ++next_id_;
  nlohmann::json command = {{"id", id}, {"method", method}, {"params", params}};
  if (in_page && !session_.empty()) command["sessionId"] = session_;
  const std::string text = command.dump() + std::string(1, '\0');
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = write(to_browser_, text.data() + done, text.size() - done);
    if (n <= 0) throw std::runtime_error("cannot write to Chromium's DevTools pipe");
    done += static_cast<size_t>(n);
  }
  while (true) {
    nlohmann::json message = Read();
    if (!message.contains("id")) {
      events_.push_back(std::move(message));
      continue;
    }
    if (message["id"] != id) continue;
    if (message.contains("error")) {
      throw std::runtime_error(method + ": " + message["error"].dump());
    }
    return message["result"];
  }
}

void HeadlessBrowser::WaitForEvent(const std::string& method) {
  for (size_t i = 0; i < events_.size(); ++i) {
    if (events_[i].value("method", "") == method) {
      events_.erase(events_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
  while (true) {
    const nlohmann::json message = Read();
    if (message.value("method", "") == method) return;
  }
}

void HeadlessBrowser::Open(const std::string& url, int width, int height) {
  const nlohmann::json target =
      Call("Target.createTarget", {{"url", "about:blank"}}, /*in_page=*/false);
  session_ = Call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}},
                  /*in_page=*/false)["sessionId"];
  Call("Page.enable", nlohmann::json::object());
  Call("Emulation.setDeviceMetricsOverride",
       {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}});
  events_.clear();
  Call("Page.navigate", {{"url", url}});
  WaitForEvent("Page.loadEventFired");
}

nlohmann::json HeadlessBrowser::Eval(const std::string& expression) {
  const nlohmann::json r =
      Call("Runtime.evaluate",
           {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}});
  if (r.contains("exceptionDetails")) {
    throw std::runtime_error("in the page: " + expression + ": " + r["exceptionDetails"].dump());
  }
  return r["result"].value("value", nlohmann::json());
}

void HeadlessBrowser::WaitFor(const std::string& condition, int timeout_ms) {
  // The page checks the condition every 20 ms of its own time and resolves when it
  // holds: the wait ends on what the page shows, not after a set time.
  Eval("new Promise((done, fail) => { const until = Date.now() + " + std::to_string(timeout_ms) +
       "; (function check() { let ok = false; try { ok = !!(" + condition +
       "); } catch (e) {} if (ok) done(true); else if (Date.now() > until) "
       "fail(new Error('timed out waiting')); else setTimeout(check, 20); })(); })");
}

void HeadlessBrowser::Screenshot(const std::string& path) {
  const nlohmann::json shot =
      Call("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", true}});
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << DecodeBase64(shot["data"].get<std::string>());
}

}  // namespace loadgen::testing

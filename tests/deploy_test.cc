// deploy/kubernetes: what can be checked without a cluster. The manifests parse, the
// Indexed Job's wiring is consistent (completions = parallelism = --instances, the
// index reaches the sender, the backend comes from the Secret), and the configs the
// ConfigMap ships load with the real loaders, and the image's runtime stage installs
// the packages of every library the built binaries link.
#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include "catch2/catch.hpp"
#include "common/read_file.h"
#include "generator/config.h"
#include "sender/config.h"
#include "tests/test_util.h"
#include "yaml-cpp/yaml.h"

namespace loadgen::testing {
namespace {

YAML::Node Manifest(const std::string& name) {
  return YAML::LoadFile(SourceDir() + "/deploy/kubernetes/" + name);
}

// The standard output of a shell command; the test fails if it does not run.
std::string Sh(const std::string& command) {
  std::FILE* p = popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The packages installed as dependencies of `roots`, recursively, from dpkg's own
// records: what any Debian image has because apt and dpkg need it.
std::set<std::string> DependencyClosure(std::vector<std::string> roots) {
  std::set<std::string> seen;
  while (!roots.empty()) {
    const std::string pkg = roots.back();
    roots.pop_back();
    if (!seen.insert(pkg).second) continue;
    const std::string deps =
        Sh("dpkg-query -W -f='${Pre-Depends},${Depends}' '" + pkg + "' 2>/dev/null");
    const std::vector<std::string> alts = absl::StrSplit(deps, absl::ByAnyChar(",|"));
    for (const std::string& alt : alts) {
      std::vector<std::string> w = Words(alt);
      if (w.empty()) continue;
      std::string name = w[0].substr(0, w[0].find(':'));
      roots.push_back(name);
    }
  }
  return seen;
}

// The packages the Dockerfile's last stage installs with apt-get.
std::set<std::string> RuntimeStagePackages() {
  const std::string text = *ReadFile(SourceDir() + "/deploy/Dockerfile");
  // The last stage, with its line continuations joined.
  std::string stage;
  for (char c : text.substr(text.rfind("\nFROM "))) {
    if (c == '\n' && !stage.empty() && stage.back() == '\\') {
      stage.back() = ' ';
    } else {
      stage.push_back(c);
    }
  }
  std::set<std::string> pkgs;
  const size_t install = stage.find("apt-get install");
  REQUIRE(install != std::string::npos);
  std::vector<std::string> w =
      Words(stage.substr(install + 15, stage.find("&&", install) - install - 15));
  for (const std::string& word : w) {
    if (!word.starts_with("-")) pkgs.insert(word);
  }
  return pkgs;
}

TEST_CASE("deploy: the Indexed Job runs as many instances as it says") {
  const YAML::Node job = Manifest("job.yaml");
  REQUIRE(job["kind"].as<std::string>() == "Job");
  const YAML::Node spec = job["spec"];
  CHECK(spec["completionMode"].as<std::string>() == "Indexed");
  const int completions = spec["completions"].as<int>();
  CHECK(spec["parallelism"].as<int>() == completions);
  const YAML::Node sender = spec["template"]["spec"]["containers"][0];
  const auto command = sender["command"].as<std::vector<std::string>>();
  CHECK(command[0] == "telemetry-sender");
  const auto at = std::find(command.begin(), command.end(), "--instances");
  REQUIRE(at != command.end());
  CHECK(std::stoi(*(at + 1)) == completions);
  // The index: from the pod's annotation, and used in the summary's file name.
  bool index = false, endpoint = false, headers = false;
  for (const auto& env : sender["env"]) {
    const std::string name = env["name"].as<std::string>();
    if (name == "JOB_COMPLETION_INDEX") {
      index = env["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>() ==
              "metadata.annotations['batch.kubernetes.io/job-completion-index']";
    }
    if (name == "OTEL_EXPORTER_OTLP_ENDPOINT" || name == "OTEL_EXPORTER_OTLP_HEADERS") {
      const YAML::Node ref = env["valueFrom"]["secretKeyRef"];
      CHECK(ref["name"].as<std::string>() == "telemetry-loadgen-backend");
      const std::string key = ref["key"].as<std::string>();
      CHECK(Manifest("secret.example.yaml")["stringData"][key]);
      (name == "OTEL_EXPORTER_OTLP_ENDPOINT" ? endpoint : headers) = true;
    }
  }
  CHECK(index);
  CHECK(endpoint);
  CHECK(headers);
  CHECK(std::any_of(command.begin(), command.end(), [](const std::string& a) {
    return a.find("$(JOB_COMPLETION_INDEX)") != std::string::npos;
  }));
  // The generator runs first, with a fixed seed, so every pod has the same dataset.
  const auto init =
      spec["template"]["spec"]["initContainers"][0]["command"].as<std::vector<std::string>>();
  CHECK(init[0] == "telemetry-generator");
  CHECK(std::find(init.begin(), init.end(), "--seed") != init.end());
}

TEST_CASE("deploy: the ConfigMap's configs load with the real loaders") {
  const YAML::Node data = Manifest("configmap.yaml")["data"];
  TempDir dir;
  WriteText(dir.File("generator.yaml"), data["generator.yaml"].as<std::string>());
  WriteText(dir.File("sender.yaml"), data["sender.yaml"].as<std::string>());
  auto generator = LoadGeneratorConfig(dir.File("generator.yaml"));
  INFO(generator.status().message());
  REQUIRE(generator.ok());
  CHECK(generator->output_directory == "/data");
  SenderConfig sender;
  auto status = ApplySenderConfigFile(dir.File("sender.yaml"), &sender);
  INFO(status.message());
  REQUIRE(status.ok());
  // The sender reads the files the generator writes.
  CHECK(sender.traces_file == "/data/" + generator->output_prefix + "-traces.pb");
  CHECK(sender.events_per_second > 0);
  // The job mounts the ConfigMap where the commands look for it.
  const YAML::Node pod = Manifest("job.yaml")["spec"]["template"]["spec"];
  CHECK(pod["volumes"][0]["configMap"]["name"].as<std::string>() ==
        Manifest("configmap.yaml")["metadata"]["name"].as<std::string>());
}

TEST_CASE("deploy: the image's runtime stage installs every library the binaries link") {
#ifdef LOADGEN_SANITIZED
  // The image's binaries are unsanitized (see tests/CMakeLists.txt): the unsanitized
  // build's run of this test is the one that speaks for them.
  WARN("skipped: these binaries are sanitized, the image's are not");
  return;
#endif
  const std::set<std::string> runtime = RuntimeStagePackages();
  const std::set<std::string> base = DependencyClosure({"apt", "dpkg", "base-files"});
  REQUIRE(base.contains("libc6"));  // dpkg's records were read.
  std::set<std::string> needed;
  for (const char* tool : {"telemetry-generator", "telemetry-sender", "otlp-sink"}) {
    const std::string dynamic = Sh("readelf -d '" + BinaryPath(tool) + "'");
    const std::vector<std::string> lines = absl::StrSplit(dynamic, '\n');
    for (const std::string& line : lines) {
      if (line.find("(NEEDED)") == std::string::npos) continue;
      const size_t open = line.find('['), close = line.find(']');
      const std::string lib(line.substr(open + 1, close - open - 1));
      const std::string owner = Sh("dpkg -S '*/x86_64-linux-gnu/" + lib + "' 2>/dev/null");
      INFO(tool << " links " << lib);
      REQUIRE_FALSE(owner.empty());
      needed.insert(owner.substr(0, owner.find_first_of(":,")));
    }
  }
  REQUIRE(needed.contains("libgrpc++1.51"));
  for (const std::string& pkg : needed) {
    INFO("deploy/Dockerfile's runtime stage does not install " << pkg);
    CHECK((runtime.contains(pkg) || base.contains(pkg)));
  }
}

}  // namespace
}  // namespace loadgen::testing

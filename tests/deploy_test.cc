// deploy/kubernetes: what can be checked without a cluster. The manifests parse, the
// Indexed Job's wiring is consistent (completions = parallelism = --instances, the
// index reaches the sender, the backend comes from the Secret), and the configs the
// ConfigMap ships load with the real loaders.
#include <algorithm>

#include "catch2/catch.hpp"
#include "generator/config.h"
#include "sender/config.h"
#include "tests/test_util.h"
#include "yaml-cpp/yaml.h"

namespace loadgen::testing {
namespace {

YAML::Node Manifest(const std::string& name) {
  return YAML::LoadFile(SourceDir() + "/deploy/kubernetes/" + name);
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

}  // namespace
}  // namespace loadgen::testing

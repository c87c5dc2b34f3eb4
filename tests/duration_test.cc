#include "common/duration.h"

#include <chrono>
#include <string>

#include "catch2/catch.hpp"

namespace loadgen::testing {
namespace {

using std::chrono::nanoseconds;

TEST_CASE("durations parse as written in configs and flags") {
  CHECK(*ParseDuration("0", "x") == nanoseconds(0));
  CHECK(*ParseDuration("250us", "x") == std::chrono::microseconds(250));
  CHECK(*ParseDuration("50ms", "x") == std::chrono::milliseconds(50));
  CHECK(*ParseDuration("1.5s", "x") == std::chrono::milliseconds(1500));
  CHECK(*ParseDuration("1m30s", "x") == std::chrono::seconds(90));
  CHECK(*ParseDuration("2h", "x") == std::chrono::hours(2));
  CHECK(*ParseDuration("7ns", "x") == nanoseconds(7));
}

TEST_CASE("a duration prints in its shortest exact form and reads back the same") {
  for (const char* text : {"0s", "250us", "50ms", "1.5s", "1m30s", "2h", "7ns"}) {
    const auto d = ParseDuration(text, "x");
    REQUIRE(d.ok());
    CHECK(FormatDuration(*d) == text);
    CHECK(*ParseDuration(FormatDuration(*d), "x") == *d);
  }
}

TEST_CASE("a bad duration is refused, naming where it came from and what was expected") {
  for (const char* text : {"", "10", "5 s", "s", "1d", "10sec", "inf", "1e3s", "1000000h"}) {
    const auto d = ParseDuration(text, "--duration");
    INFO(text);
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(std::string(d.status().message()),
               Catch::StartsWith("--duration: expected a duration such as 500ms"));
  }
  const auto negative = ParseDuration("-5s", "sending.duration");
  REQUIRE_FALSE(negative.ok());
  CHECK_THAT(std::string(negative.status().message()),
             Catch::Contains("sending.duration: a duration cannot be negative"));
}

}  // namespace
}  // namespace loadgen::testing

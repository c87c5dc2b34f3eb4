// The "{{...}}" value templates of scenario files: literal text and expressions
// (random.int(a,b), random.float(a,b), random.uuid, random.ipv4, random.choice(a|b|c),
// vars.NAME, parent.attributes.KEY, and a bare NAME: a var, an attribute of the same
// span set before it, or one of the parent's), compiled once at load, evaluated per trace by the
// ScenarioRunner. Immutable after Compile; safe to share.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace loadgen {

class ScenarioRunner;

// A compiled "{{...}}" template: literal text and expressions.
class ValueTemplate {
 public:
  struct Part {
    // kName: a bare {{name}} until ResolveNames says what it names; kOwnAttr: an
    // attribute of the same span, set before this value.
    enum Kind {
      kText,
      kInt,
      kFloat,
      kUuid,
      kIpv4,
      kChoice,
      kVar,
      kParentAttr,
      kName,
      kOwnAttr
    } kind;
    std::string text;  // Literal, variable or attribute name.
    double a = 0, b = 0;
    std::vector<std::string> choices;
  };
  // `where` prefixes errors (file:line:col: key).
  static absl::StatusOr<ValueTemplate> Compile(const std::string& text, bool quoted,
                                               const std::string& where);
  const std::vector<Part>& parts() const { return parts_; }

  // What the template refers to, for load-time checks.
  std::vector<std::string> VarNames() const;
  // Turns each bare {{name}} into what `resolve(name)` says it names (kVar, kOwnAttr or
  // kParentAttr), or returns resolve's error.
  template <typename Resolve>
  absl::Status ResolveNames(Resolve&& resolve) {
    for (Part& p : parts_) {
      if (p.kind != Part::kName) continue;
      absl::StatusOr<Part::Kind> kind = resolve(p.text);
      if (!kind.ok()) return kind.status();
      p.kind = *kind;
    }
    return absl::OkStatus();
  }
  // Whether it is plain text (no expression).
  bool literal() const {
    return parts_.empty() || (parts_.size() == 1 && parts_[0].kind == Part::kText);
  }

 private:
  std::vector<Part> parts_;
  // kRef: a lone vars.X / parent.attributes.K, typed like what it refers to.
  enum class Type { kString, kInt, kDouble, kBool, kRef } type_ = Type::kString;
  friend class ScenarioRunner;
};

}  // namespace loadgen

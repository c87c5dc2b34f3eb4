#include "generator/scenario_expression.h"

#include <cctype>
#include <optional>
#include <string_view>

#include "common/status_macros.h"
#include "common/strings.h"

namespace loadgen {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

const char* kExpressions =
    "random.int(a,b), random.float(a,b), random.uuid, random.ipv4, random.choice(a|b|c), "
    "vars.NAME, parent.attributes.KEY or a bare NAME (a var or an attribute)";

bool IsName(std::string_view e) {
  if (e.empty() || e.starts_with("random.")) return false;
  for (char c : e) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<ValueTemplate::Part> CompileExpression(std::string_view e,
                                                      const std::string& where) {
  ValueTemplate::Part p;
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat(where, ": {{", e, "}}: ", why, "; expected one of ", kExpressions));
  };
  auto args = [&](std::string_view name) -> std::optional<std::string_view> {
    if (!e.starts_with(name) || e.size() < name.size() + 2 || e[name.size()] != '(' ||
        e.back() != ')') {
      return std::nullopt;
    }
    return e.substr(name.size() + 1, e.size() - name.size() - 2);
  };
  if (auto a = args("random.int"); a || (a = args("random.float"))) {
    const bool is_int = e.starts_with("random.int");
    const size_t comma = a->find(',');
    if (comma == std::string_view::npos) return bad("needs two numbers");
    if (!ParseDouble(Trim(a->substr(0, comma)), &p.a) ||
        !ParseDouble(Trim(a->substr(comma + 1)), &p.b)) {
      return bad("needs two numbers");
    }
    if (p.a > p.b) return bad("the first number must not exceed the second");
    p.kind = is_int ? ValueTemplate::Part::kInt : ValueTemplate::Part::kFloat;
    return p;
  }
  if (auto a = args("random.choice")) {
    size_t start = 0;
    while (start <= a->size()) {
      size_t bar = a->find('|', start);
      if (bar == std::string_view::npos) bar = a->size();
      p.choices.emplace_back(Trim(a->substr(start, bar - start)));
      start = bar + 1;
    }
    p.kind = ValueTemplate::Part::kChoice;
    return p;
  }
  if (e == "random.uuid") {
    p.kind = ValueTemplate::Part::kUuid;
    return p;
  }
  if (e == "random.ipv4") {
    p.kind = ValueTemplate::Part::kIpv4;
    return p;
  }
  if (e.starts_with("vars.") && e.size() > 5) {
    p.kind = ValueTemplate::Part::kVar;
    p.text = std::string(e.substr(5));
    return p;
  }
  if (e.starts_with("parent.attributes.") && e.size() > 18) {
    p.kind = ValueTemplate::Part::kParentAttr;
    p.text = std::string(e.substr(18));
    return p;
  }
  if (IsName(e)) {
    p.kind = ValueTemplate::Part::kName;
    p.text = std::string(e);
    return p;
  }
  return bad("unknown expression");
}

}  // namespace

namespace {
ValueTemplate::Part TextPart(std::string text) {
  ValueTemplate::Part p;
  p.kind = ValueTemplate::Part::kText;
  p.text = std::move(text);
  return p;
}
}  // namespace

absl::StatusOr<ValueTemplate> ValueTemplate::Compile(const std::string& text, bool quoted,
                                                     const std::string& where) {
  ValueTemplate t;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == std::string::npos) {
      t.parts_.push_back(TextPart(text.substr(i)));
      break;
    }
    if (open > i) t.parts_.push_back(TextPart(text.substr(i, open - i)));
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(StrCat(where, ": unterminated {{ in \"", text, "\""));
    }
    ASSIGN_OR_RETURN(
        Part p,
        CompileExpression(Trim(std::string_view(text).substr(open + 2, close - open - 2)), where));
    t.parts_.push_back(std::move(p));
    i = close + 2;
  }
  // A lone number expression, or an unquoted number or boolean, keeps its type.
  if (t.parts_.size() == 1 && t.parts_[0].kind == Part::kInt) t.type_ = Type::kInt;
  if (t.parts_.size() == 1 && t.parts_[0].kind == Part::kFloat) t.type_ = Type::kDouble;
  if (t.parts_.size() == 1 && (t.parts_[0].kind == Part::kVar || t.parts_[0].kind == Part::kName ||
                               t.parts_[0].kind == Part::kParentAttr)) {
    t.type_ = Type::kRef;
  }
  if (!quoted && t.parts_.size() == 1 && t.parts_[0].kind == Part::kText) {
    int64_t iv;
    double dv;
    if (ParseInt64(text, &iv)) {
      t.type_ = Type::kInt;
    } else if (ParseDouble(text, &dv)) {
      t.type_ = Type::kDouble;
    } else if (text == "true" || text == "false") {
      t.type_ = Type::kBool;
    }
  }
  return t;
}

std::vector<std::string> ValueTemplate::VarNames() const {
  std::vector<std::string> out;
  for (const Part& p : parts_) {
    if (p.kind == Part::kVar) out.push_back(p.text);
  }
  return out;
}

}  // namespace loadgen

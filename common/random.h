// Deterministic random numbers and the ID mapping that replays rely on.
//
// Rng is xoshiro256** seeded through splitmix64: fast, and the same sequence on every
// platform for a given seed (std:: distributions are not), which is what makes
// generated datasets byte-identical for a seed. Not thread-safe: one per thread.
#pragma once

#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

namespace loadgen {

inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// MurmurHash3's 64-bit finalizer: a bijection on uint64_t with good avalanche.
inline uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xFF51AFD7ED558CCDull;
  k ^= k >> 33;
  k *= 0xC4CEB9FE1A85EC53ull;
  k ^= k >> 33;
  return k;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : s_) s = SplitMix64(&seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); n > 0. Lemire's multiply-shift, bias below 2^-64 * n.
  uint64_t Below(uint64_t n) {
    assert(n > 0);
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [lo, hi]; requires lo <= hi.
  int64_t Range(int64_t lo, int64_t hi) {
    assert(lo <= hi);
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // Normal(mean, sd) by Box-Muller; deterministic for a seed.
  double Normal(double mean, double sd) {
    double u1 = Unit(), u2 = Unit();
    if (u1 < 1e-300) u1 = 1e-300;
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Fills `n` bytes, never all zero (OTLP treats all-zero IDs as invalid).
  void FillId(uint8_t* out, size_t n) {
    do {
      for (size_t i = 0; i < n; i += 8) {
        uint64_t v = Next();
        std::memcpy(out + i, &v, n - i < 8 ? n - i : 8);
      }
    } while (IsZero(out, n));
  }
  static bool IsZero(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i)
      if (p[i] != 0) return false;
    return true;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_;
};

// A client address in 10.0.0.0/8 ("10.a.b.c", c >= 1). Its parts are drawn one per
// statement, so that the bytes do not depend on the compiler (a call's arguments are
// evaluated in no set order), last part first: the order GCC's builds drew them in
// when they were one call's arguments, so datasets made then keep their bytes.
inline std::string PrivateIpv4(Rng& rng) {
  const uint64_t c = 1 + rng.Below(254);
  const uint64_t b = rng.Below(256);
  const uint64_t a = rng.Below(256);
  std::string ip = "10.";  // Appended: GCC 12 warns falsely of "literal" + string.
  ip += std::to_string(a);
  ip += '.';
  ip += std::to_string(b);
  ip += '.';
  ip += std::to_string(c);
  return ip;
}

// `n` non-zero span IDs, distinct from each other: the placeholders of one trace.
inline std::vector<uint64_t> UniqueSpanIds(Rng& rng, size_t n) {
  std::vector<uint64_t> ids(n);
  std::unordered_set<uint64_t> seen;
  for (auto& id : ids) {
    do {
      id = rng.Next();
    } while (id == 0 || !seen.insert(id).second);
  }
  return ids;
}

struct TraceId {
  uint64_t lo = 0;  // Bytes 0-7 of the 16-byte ID, little-endian.
  uint64_t hi = 0;  // Bytes 8-15.
  static TraceId Load(const uint8_t* p) {
    TraceId t;
    std::memcpy(&t.lo, p, 8);
    std::memcpy(&t.hi, p + 8, 8);
    return t;
  }
  void Store(uint8_t* p) const {
    std::memcpy(p, &lo, 8);
    std::memcpy(p + 8, &hi, 8);
  }
  bool operator==(const TraceId&) const = default;
};

struct TraceIdHash {
  size_t operator()(const TraceId& t) const { return Fmix64(t.lo ^ Fmix64(t.hi)); }
};

// Maps template IDs to the IDs of one replay. The maps are pure functions of
// (run key, replay number, template ID), so every worker, and the log workers too,
// derive the same new IDs for the same template trace in the same replay without
// sharing any state: parent links and log-to-span correlation survive for free.
// For a fixed run key and replay both maps are bijections (two Feistel-like rounds of
// Fmix64), so distinct template IDs never collide within a replay; across replays and
// runs the outputs are as unlikely to collide as random IDs. Thread-safe (immutable).
//
// With an instance tag (scale-out: instance i of N), bytes 0-1 of every trace ID are
// the instance number, so the instances' trace IDs are disjoint by construction; the
// W3C "random" bytes (the rightmost seven) stay random.
class IdMapper {
 public:
  explicit IdMapper(uint64_t run_key, int instance_tag = -1)
      : k0_(Fmix64(run_key ^ 0x6A09E667F3BCC908ull)),
        k1_(Fmix64(run_key ^ 0xBB67AE8584CAA73Bull)),
        tag_(instance_tag) {}

  TraceId MapTrace(TraceId tmpl, uint64_t replay) const {
    const uint64_t r = Fmix64(replay * 0x9E3779B97F4A7C15ull + k0_);
    TraceId out;
    out.lo = Fmix64(tmpl.lo ^ r);
    out.hi = Fmix64(tmpl.hi ^ k1_ ^ out.lo);
    if (tag_ >= 0) out.lo = (out.lo & ~uint64_t{0xFFFF}) | static_cast<uint64_t>(tag_);
    if ((out.lo | out.hi) == 0) out.lo = 1;
    return out;
  }

  // Span IDs are keyed by the *new* trace ID, so a span's new ID depends only on its
  // template ID and the replay of its trace.
  static uint64_t MapSpan(uint64_t tmpl_span_id, TraceId new_trace) {
    uint64_t v = Fmix64(tmpl_span_id ^ (new_trace.lo * 0xD6E8FEB86659FD93ull + new_trace.hi));
    return v == 0 ? 1 : v;
  }

 private:
  uint64_t k0_, k1_;
  int tag_;
};

}  // namespace loadgen

// Prefetching that the compiler keeps.
//
// GCC 12 at -O2 drops prefetches in a way that is easy to miss: its interprocedural
// mod/ref analysis (-fipa-modref) finds that a function whose only effect is
// __builtin_prefetch changes no memory, and then deletes the calls to it. A small helper
// such as NoveltySet::Prefetch, or absl::flat_hash_map::prefetch, then compiles to nothing
// wherever it is not inlined early, and nothing says so: the code still builds, runs and
// gives the same answers, only slower. Sessions 7-12 tuned the models' prefetch passes
// while most of their prefetches were not in the binary (docs/performance.md, session 13).
//
// Two remedies, both checked by tests/codegen_test.cc, which reads the built binary:
//   - PrefetchRead: an `asm volatile` prefetch, which no pass may delete (on x86-64;
//     elsewhere __builtin_prefetch);
//   - VIGIL_KEEP_PREFETCHES on a function that calls a library's prefetch (abseil's):
//     everything it calls is inlined into it first (gnu::flatten), so the builtin stands in
//     its body instead of behind a call the analysis can delete. The models' Prefetch
//     overrides are called through the vtable, so they are always compiled on their own.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil {

// Fetches the cache line holding `p` into every cache level, for reading. A hint: it
// never faults and changes nothing a program can observe.
inline void PrefetchRead(const void* p) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 0, 3);
#endif
}

// Fetches every cache line of the `bytes` bytes at `p` (an object another core wrote, about
// to be read).
inline void PrefetchLines(const void* p, size_t bytes) {
  constexpr uintptr_t kLine = 64;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p) & ~(kLine - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
  for (uintptr_t at = begin; at < end; at += kLine) PrefetchRead(reinterpret_cast<const void*>(at));
}

}  // namespace vigil

#if defined(__GNUC__) || defined(__clang__)
#define VIGIL_KEEP_PREFETCHES [[gnu::flatten]]
#else
#define VIGIL_KEEP_PREFETCHES
#endif

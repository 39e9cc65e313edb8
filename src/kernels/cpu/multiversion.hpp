// Runtime dispatch for Kiln's own hot loops.
//
// A function marked KILN_MULTIVERSION is compiled three times — for AVX-512
// (x86-64-v4), AVX2 (x86-64-v3) and baseline x86-64 — and the dynamic loader
// picks the best one the CPU supports (GNU ifunc). One binary is therefore
// fast on new CPUs and still runs on old ones. Mark the function that holds
// the loop itself: code it calls out of line is not recompiled.
#pragma once

#if defined(__clang__)
// Clang 14 cannot multiversion function templates, so a clang build (the sanitizer
// and fuzzing build, scripts/sanitizers.sh) compiles the baseline version only: the
// same source, for another instruction set.
#define KILN_MULTIVERSION
#else
#define KILN_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

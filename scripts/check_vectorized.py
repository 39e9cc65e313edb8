#!/usr/bin/env python3
"""Checks that the AVX2 and AVX-512 copies of Kiln's hot loops use vector registers.

GCC can leave a loop scalar in one target_clones copy and vectorised in another (its
partial-redundancy elimination did that to the AVX2 copy of the LSTM step, see
kernels/cpu/fast_math.hpp); results stay right, so only the code shows it. For each
function named below, every x86-64-v3 copy must hold at least MIN_YMM instructions on
ymm registers and every x86-64-v4 copy at least MIN_ZMM on zmm ones.

  scripts/check_vectorized.py LIBRARY   (the ctest `multiversion_loops_vectorised`)
"""
import re
import subprocess
import sys

# Loops on fast_math.hpp's exp, log, sigmoid, tanh and max: the recurrent gates, softmax,
# the float elementwise ops, the activations and the cross-entropies. Each has dozens to hundreds of vector
# instructions when vectorised and a handful or none when not.
FUNCTIONS = ["lstm_forward_rows<float>", "lstm_backward_rows<float>", "gru_forward_rows<float>",
             "gru_backward_rows<float>", "rnn_forward_rows<float>", "masked_softmax_rows<float>",
             "exp_range<float>", "log_range<float>", "sigmoid_range<float>", "tanh_range<float>",
             "::softmax_rows", "::log_softmax_rows", "::log_softmax_backward_rows",
             "activation_forward_range<float>", "activation_backward_range<float>",
             "sparse_backward_rows<float>", "categorical_backward_rows<float>", "sigmoid_cross_entropy_range<float>"]
MIN_YMM = 20
MIN_ZMM = 20


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    disassembly = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", sys.argv[1]], check=True,
                                 capture_output=True, text=True).stdout
    counts = {}  # (function, clone) -> vector instructions
    current = None
    header = re.compile(r"^[0-9a-f]+ <(.*)>:$")
    for line in disassembly.splitlines():
        m = header.match(line)
        if m:
            name = m.group(1)
            current = None
            for f in FUNCTIONS:
                if f + "(" in name:
                    for clone, reg in ((".arch_x86_64_v3]", "ymm"), (".arch_x86_64_v4]", "zmm")):
                        if name.endswith("[clone " + clone):
                            current = (f, clone.strip(".]"), reg)
                            counts.setdefault(current, 0)
            continue
        if current and current[2] in line:
            counts[current] += 1
    failures = []
    for f in FUNCTIONS:
        for clone, reg, least in (("arch_x86_64_v3", "ymm", MIN_YMM), ("arch_x86_64_v4", "zmm", MIN_ZMM)):
            n = counts.get((f, clone, reg))
            if n is None:
                failures.append(f"{f}: no {clone} copy in {sys.argv[1]} (is it still KILN_MULTIVERSION?)")
            elif n < least:
                failures.append(f"{f} [{clone}]: {n} instructions on {reg} registers, expected at least {least} "
                                "(the loop is scalar in this copy)")
            else:
                print(f"{f} [{clone}]: {n} {reg} instructions")
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()

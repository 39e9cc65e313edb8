"""What every bench/ script records about the Kiln tree it measures.

Take kiln_rev() when a run starts: the binaries measured are that tree's, whatever is
edited or committed while the run goes on (a stamp taken at the end named the wrong
commit once).
"""
import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def tree_is_dirty():
    """True when tracked files differ from HEAD (untracked files do not count)."""
    return bool(git("status", "--porcelain", "--untracked-files=no"))


DIRTY = " with uncommitted changes"


def kiln_rev():
    """HEAD's short hash, with DIRTY appended when the tree is dirty."""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (DIRTY if tree_is_dirty() else "")


def is_dirty(rev):
    """Whether a kiln_rev() string names a tree with uncommitted changes."""
    return rev.endswith(DIRTY)


def cpu_fields():
    """The first value of each /proc/cpuinfo field, and the CPU's flags as a set."""
    fields = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if ":" in line:
                k, v = (s.strip() for s in line.split(":", 1))
                fields.setdefault(k, v)
    return fields, set(fields.get("flags", "").split())


def ram_kib():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1])


def machine():
    """The CPU, its SIMD extensions, memory and kernel: figures mean little without them."""
    fields, flags = cpu_fields()
    return {"cpu": fields.get("model name", platform.processor()), "logical_cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)), "hypervisor": "hypervisor" in flags,
            "simd": [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags],
            "ram_gib": round(ram_kib() / 1048576, 1), "linux": platform.release()}

"""What every bench/ script records about the Kiln tree it measures.

Take kiln_rev() when a run starts: the binaries measured are that tree's, whatever is
edited or committed while the run goes on (a stamp taken at the end named the wrong
commit once).
"""
import os
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


def kiln_rev():
    """HEAD's short hash, with " with uncommitted changes" appended when the tree is dirty."""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (" with uncommitted changes" if tree_is_dirty() else "")

#!/usr/bin/env python3
"""Kiln builds each target as a unity build (KILN_UNITY_BUILD): several .cpp files
are compiled as one translation unit, so the private helpers of two files (names in
anonymous namespaces, static functions) meet. Two definitions with one signature
fail to compile, but two overloads of one name compile, and a call may then pick
the other file's overload without a word. This check fails when two files of one
target define the same private name in the same namespace, unless both are aliases
of the same thing (which C++ allows).

    scripts/check_unity_names.py [repository root]
"""
import collections
import glob
import os
import re
import sys

# PrintTo overloads are how GoogleTest prints test parameters: one per parameter type,
# always an exact match.
ALLOWED = {"PrintTo"}
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "decltype", "static_assert", "alignas", "noexcept",
            "operator", "catch", "throw", "new", "delete", "defined", "namespace", "template", "requires"}


def strip(src):
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r'R"(\w*)\((.*?)\)\1"', '""', src, flags=re.S)
    src = re.sub(r'"(\\.|[^"\\\n])*"', '""', src)
    src = re.sub(r"'(\\.|[^'\\\n])*'", "''", src)
    return re.sub(r"^\s*#[^\n]*(\\\n[^\n]*)*", "", src, flags=re.M)


def top_level(body):
    """The text of `body` outside any braces or parentheses (so only declarations at its own scope remain)."""
    out, depth = [], 0
    for ch in body:
        if ch in "{(":
            if depth == 0:
                out.append(ch)
            depth += 1
        elif ch in "})":
            depth -= 1
            if depth == 0:
                out.append(ch + ";" if ch == "}" else ch)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def private_names(path):
    """name -> definition text, for names declared in the file's anonymous namespaces or as static functions."""
    src = strip(open(path, encoding="utf-8", errors="replace").read())
    names = {}
    stack, spans = [], []
    for m in re.finditer(r"\bnamespace\s*\{|\bnamespace\s+[\w:]+\s*\{|\{|\}", src):
        t = m.group(0)
        if t.startswith("namespace"):
            named = re.match(r"namespace\s+([\w:]+)", t)
            stack.append((named.group(1) if named else "", m.end()))
        elif t == "{":
            stack.append((None, m.end()))
        elif stack:
            kind, start = stack.pop()
            if kind == "" and "" not in [k for k, _ in stack]:
                # Anonymous namespaces inside different named namespaces are different namespaces.
                spans.append((start, m.start(), "::".join(k for k, _ in stack if k)))
    for start, end, enclosing in spans:
        body = src[start:end]
        # Nested named namespaces inside the anonymous one count as names of their own.
        body = re.sub(r"\bnamespace\s+(\w+)\s*\{", r"namespace \1 ;{", body)
        top = top_level(body)
        for decl in top.split(";"):
            decl = " ".join(decl.split())
            if not decl or decl.startswith("using namespace"):
                continue
            m = re.match(r"(?:template\s*<[^>]*>\s*)?(?:struct|class|enum(?: class)?|union)\s+(\w+)", decl)
            if m:
                names.setdefault(enclosing + "::" + m.group(1), decl)
                continue
            # Aliases and using-declarations: the same entity under one name is no clash.
            m = re.match(r"(?:using|namespace)\s+(\w+)\s*=\s*(?:typename\s+)?:*([\w:<>, ]+)$", decl)
            if m:
                names.setdefault(enclosing + "::" + m.group(1), "alias " + m.group(2).replace(" ", ""))
                continue
            m = re.match(r"using\s+:*([\w:]*::(\w+))$", decl)
            if m:
                names.setdefault(enclosing + "::" + m.group(2), "alias " + m.group(1))
                continue
            m = re.match(r"namespace\s+(\w+)$", decl)
            if m:
                continue  # a named namespace inside: its members are qualified
            m = re.search(r"(\w+)\s*\((?!.*\()", decl.split("=")[0]) or re.search(r"(\w+)\s*(?:\[[^\]]*\])?\s*(?:=|\{|$)", decl)
            if m:
                name = m.group(1)
                if name in KEYWORDS or re.fullmatch(r"[A-Z0-9_]+", name):
                    continue  # a macro (TEST, INSTANTIATE_TEST_SUITE_P, ...)
                names.setdefault(enclosing + "::" + name, decl)
    for m in re.finditer(r"^static\s+(?:inline\s+)?(?:constexpr\s+)?[\w:<>,\*& ]+?\b(\w+)\s*\(", src, re.M):
        names.setdefault(m.group(1), m.group(0))
    return names


def targets(root):
    def files(*patterns):
        out = []
        for p in patterns:
            out += glob.glob(os.path.join(root, p), recursive=True)
        return sorted(set(out))
    report = set(files("src/report/*.cpp", "src/io/png.cpp", "src/io/plot.cpp", "src/io/image_grid.cpp"))
    data = set(files("src/data/*.cpp")) - set(files("src/data/dataset.cpp"))
    onnx = set(files("src/onnx/*.cpp"))
    distributed = set(files("src/distributed/*.cpp"))
    core = set(files("src/**/*.cpp")) - report - data - onnx - distributed
    groups = {"kiln": core, "kiln_data": data, "kiln_report": report, "kiln_onnx": onnx,
              "kiln_distributed": distributed, "kiln_mpi_tests": set(files("tests/distributed/*.cpp")),
              "kiln_cli": set(files("tools/kiln/*.cpp")),
              "kiln_tests": set(files("tests/**/*_test.cpp", "tests/support/*.cpp"))}
    return groups


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    clashes = 0
    for target, paths in targets(root).items():
        seen = collections.defaultdict(list)
        for p in sorted(paths):
            for name, text in private_names(p).items():
                seen[name].append((os.path.relpath(p, root), text))
        for name, where in sorted(seen.items()):
            if len(where) < 2 or name.split("::")[-1] in ALLOWED or len({t for _, t in where}) == 1 and where[0][1].startswith("alias "):
                continue
            clashes += 1
            print(f"{target}: private name '{name}' is defined in " + ", ".join(f for f, _ in where))
    if clashes:
        print(f"{clashes} private name(s) shared by files of one unity build: rename them, or move a shared helper "
              "into a header (tests: tests/support/).")
        return 1
    print("no private name is defined twice in one target")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks berth's layering: every #include between areas goes down the layer order, and the
graph of areas has no cycle.

An area is include/berth/<area>/ + src/<area>/ (src/cli is the cli area), or one driver folder
drivers/<name>/ (area drivers/<name>). Layers, bottom to top (docs/ARCHITECTURE.md):

  0 core authz   1 store pki process shell net   2 docker transport   3 driver   4 provision
  5 drivers/*   6 image   7 service   8 cli

An area may include itself and areas of a lower layer only. Usage:

  check_layers.py ROOT        check the tree at ROOT; exit 1 listing every violation
  check_layers.py --self-test check that a tree with an upward include and a cycle is refused
"""

import os
import re
import sys
import tempfile

RANKS = {
    "core": 0, "authz": 0,
    "store": 1, "pki": 1, "process": 1, "shell": 1, "net": 1,
    "docker": 2, "transport": 2,
    "driver": 3,
    "provision": 4,
    "drivers": 5,
    "image": 6,
    "service": 7,
    "cli": 8,
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def rank(area):
    return RANKS[area.split("/")[0]]


def area_of_file(rel):
    """The area a source file belongs to, or None for files outside the layered code."""
    parts = rel.split("/")
    if parts[0] == "include" and len(parts) > 3 and parts[1] == "berth":
        return parts[2]
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[0] == "drivers" and len(parts) > 2:
        return "drivers/" + parts[1]
    return None


def area_of_include(path, including_rel, root):
    """The area an include names, or None for system and third-party headers."""
    if path.startswith("berth/drivers/"):
        parts = path.split("/")
        return "drivers/" + parts[2] if len(parts) > 3 else None
    if path.startswith("berth/"):
        parts = path.split("/")
        return parts[1] if len(parts) > 2 else None
    return None


def quoted_area(path, including_rel, root):
    """A quoted include resolved next to the including file: its area, if it is one."""
    target = os.path.normpath(os.path.join(os.path.dirname(including_rel), path))
    if not os.path.exists(os.path.join(root, target)):
        return None
    return area_of_file(target)


def scan(root):
    """Returns (edges, violations): edges[a] = {b: first 'file:line'}, violations as text."""
    edges = {}
    violations = []
    for top in ("include", "src", "drivers"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".h", ".cc")):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root)
                if "/tests/" in "/" + rel:
                    continue  # a driver's tests may use anything below them
                area = area_of_file(rel)
                if area is None or area.split("/")[0] not in RANKS:
                    if area is not None:
                        violations.append(f"{rel}: area \"{area}\" has no place in the layer order")
                    continue
                with open(full, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        kind, path = m.groups()
                        target = (area_of_include(path, rel, root) if kind == "<"
                                  else quoted_area(path, rel, root))
                        if target is None or target == area:
                            continue
                        where = f"{rel}:{number}"
                        edges.setdefault(area, {}).setdefault(target, where)
                        if target.split("/")[0] not in RANKS:
                            violations.append(f"{where}: includes unknown area \"{target}\"")
                        elif rank(target) >= rank(area):
                            violations.append(
                                f"{where}: {area} (layer {rank(area)}) includes {path} of {target} "
                                f"(layer {rank(target)}); an area may only include areas below it")
    return edges, violations


def cycles(edges):
    """Every strongly connected group of more than one area (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def check(root):
    edges, violations = scan(root)
    problems = list(violations)
    for group in cycles(edges):
        links = [f"{a} -> {b} ({edges[a][b]})" for a in group for b in edges.get(a, {}) if b in group]
        problems.append("include cycle between areas " + ", ".join(group) + ": " + "; ".join(links))
    return problems, edges


def self_test():
    with tempfile.TemporaryDirectory() as root:
        def write(rel, text):
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        write("include/berth/store/store.h", "#pragma once\n#include <berth/core/error.h>\n")
        write("include/berth/core/error.h", "#pragma once\n")
        problems, _ = check(root)
        assert problems == [], problems
        # store reaching up into pki (same layer) and core reaching up into store: a cycle.
        write("src/store/store.cc", "#include <berth/pki/pki.h>\n")
        write("include/berth/pki/pki.h", "#pragma once\n#include <berth/store/store.h>\n")
        write("src/core/error.cc", '#include "../../include/berth/store/store.h"\n')
        problems, _ = check(root)
        text = "\n".join(problems)
        assert "src/store/store.cc:1: store (layer 1) includes berth/pki/pki.h" in text, text
        assert "src/core/error.cc:1: core (layer 0)" in text, text
        assert "include cycle between areas core, store" in text or "include cycle between areas core, pki, store" in text, text
        write("drivers/a/a.cc", "#include <berth/drivers/b/b.h>\n")
        write("drivers/b/include/berth/drivers/b/b.h", "#include <berth/drivers/a/a.h>\n")
        problems, _ = check(root)
        assert any("drivers/a (layer 5) includes berth/drivers/b/b.h" in p for p in problems), problems
    print("check_layers self-test: 1 passed, 0 failed")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems, edges = check(argv[1])
    for p in problems:
        print("layer violation: " + p)
    n = sum(len(v) for v in edges.values())
    print(f"check_layers: {len(edges)} areas, {n} area dependencies, {len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

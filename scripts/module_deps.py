#!/usr/bin/env python3
"""Prints the import graph between caffers' top-level modules and any circle in it.

A module is a file or folder directly under src/ (src/net/, src/blob.rs, …). An edge
A → B means some file of A names `crate::B` (in a use or a path), outside its tests
(`#[cfg(test)]` blocks are skipped by cutting each file at its first one, where tests
sit by convention). Exit status 1 when there is a circle or when a module other than
cli imports cli, so CI-style checks can call it.

Usage: python3 scripts/module_deps.py [--verbose]
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_files():
    mods = {}
    for name in sorted(os.listdir(ROOT)):
        path = os.path.join(ROOT, name)
        if name in ("lib.rs", "main.rs"):
            continue
        if os.path.isdir(path):
            files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".rs")]
            mods[name] = files
        elif name.endswith(".rs"):
            mods[name[:-3]] = [path]
    return mods


def edges(mods):
    out = {m: set() for m in mods}
    pat = re.compile(r"crate::([a-z_][a-z0-9_]*)")
    for m, files in mods.items():
        for f in files:
            text = open(f, encoding="utf-8").read()
            text = text.split("#[cfg(test)]", 1)[0]
            for dep in pat.findall(text):
                if dep != m and dep in mods:
                    out[m].add(dep)
    return out


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def main():
    graph = edges(module_files())
    if "--verbose" in sys.argv:
        for m in sorted(graph):
            print(f"{m:10} -> {', '.join(sorted(graph[m])) or '-'}")
    bad = False
    for comp in cycles(graph):
        bad = True
        print("circle:", " ↔ ".join(comp))
    for m in sorted(graph):
        if m != "cli" and "cli" in graph[m]:
            bad = True
            print(f"{m} imports cli")
    if not bad:
        print("no import circle between top-level modules; only cli imports cli")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

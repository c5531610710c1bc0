#!/usr/bin/env python3
"""layering.py — the house rules of the source tree, checked on every `#include "..."` in coro/,
sched/, loop/, tests/ and lessons/ (run by `make layering`, `make check` and CI):
  1. a library file includes only its own folder or a folder earlier in LAYERS, so each layer can
     be read, built and taught knowing only the ones before it;
  2. no include cycle: neither between files, nor between modules (a module is X.c with its X.h:
     when a.c includes b.h and b.c includes a.h, a and b can only be understood together);
  3. nothing outside lessons/ includes a lesson's file: the library never depends on a lesson.
tests/ and lessons/ may include any library folder. Exit status 1 names each broken rule."""
import os
import re
import sys

LAYERS = ["coro", "sched", "sched/policy", "sched/task", "sched/sync",
          "loop/backend", "loop", "loop/net", "loop/thread", "loop/observe"]
ROOTS = ["coro", "sched", "loop", "tests", "lessons"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(top):
    for root in ROOTS:
        for folder, dirs, files in os.walk(os.path.join(top, root)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(folder, name), top)


def resolve(top, includer, target):
    """The repository path an include names: beside the includer first, then from the top (-I.)."""
    for base in (os.path.dirname(includer), ""):
        path = os.path.normpath(os.path.join(base, target))
        if os.path.isfile(os.path.join(top, path)):
            return path
    return None


def module(path):
    return os.path.splitext(path)[0]  # sched/task/task.c and sched/task/task.h: sched/task/task


def find_cycle(graph, members):
    """A path start -> ... -> start inside one strongly connected set, for the message."""
    start = min(members)
    previous, frontier = {start: None}, [start]
    while frontier:
        node = frontier.pop(0)
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [start] + path[::-1][1:] + [start] if len(path) > 1 else [start, node, start]
            if nxt in members and nxt not in previous:
                previous[nxt] = node
                frontier.append(nxt)
    return [start, start]


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: every set of nodes that reach each other."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                result.append(members)
    return result


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else "."
    problems = []
    files = {}  # file -> the files it includes
    for path in sources(top):
        files[path] = []
        folder = os.path.dirname(path)
        if path.startswith(("coro/", "sched/", "loop/")) and folder not in LAYERS:
            problems.append(f'{path} is in {folder}/, a folder missing from the layer order '
                            f'(add it to LAYERS here and to the layer table of the design).')
        with open(os.path.join(top, path), encoding="utf-8", errors="replace") as text:
            for number, line in enumerate(text, 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                target = resolve(top, path, match.group(1))
                where = f"{path}:{number}"
                if target is None:
                    problems.append(f'{where} includes "{match.group(1)}", which is no file here.')
                    continue
                files[path].append(target)
                src, dst = os.path.dirname(path), os.path.dirname(target)
                if target.startswith("lessons/") and not path.startswith("lessons/"):
                    problems.append(f'{where} includes the lesson file {target}: only lessons '
                                    f'may include a lesson\'s files.')
                elif src in LAYERS:
                    if dst not in LAYERS:
                        problems.append(f'{where} includes {target}, outside the library: '
                                        f'library code includes only library folders.')
                    elif LAYERS.index(dst) > LAYERS.index(src):
                        problems.append(f'{where} includes {target}: {dst}/ comes after {src}/ '
                                        f'in the layers, so {src}/ may not depend on it.')

    # Files that include each other, directly or round a longer loop.
    for members in strongly_connected(files):
        if len(members) > 1 or any(m in files[m] for m in members):
            cycle = find_cycle(files, members)
            problems.append("include cycle between files: " + " includes ".join(cycle) + ".")

    # Modules that need each other: a.c includes b.h and b.c includes a.h. A header with no .c of
    # its own (a private or header-only one) is part of whoever includes it, so a cycle counts
    # only when it joins two modules that each have a .c.
    modules = {}
    for path, targets in files.items():
        node = modules.setdefault(module(path), set())
        node.update(module(t) for t in targets if module(t) != module(path))
    with_c = {module(p) for p in files if p.endswith(".c")}
    for members in strongly_connected(modules):
        if len(members & with_c) > 1:
            cycle = find_cycle(modules, members)
            problems.append("module cycle: " + " -> ".join(cycle) + " (X -> Y: X.c or X.h "
                            "includes Y.h): " + ", ".join(sorted(members & with_c)) +
                            " need each other, so none of them can be read alone.")

    for problem in problems:
        print("layering: " + problem, file=sys.stderr)
    if problems:
        print(f"layering: {len(problems)} problem(s) in {len(files)} files.", file=sys.stderr)
        return 1
    print(f"layering: {len(files)} files follow the layers, without cycles.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

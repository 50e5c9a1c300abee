#!/usr/bin/env python3
"""Fails when a Swift function, initializer, subscript or computed property in the given
folders is longer than the limit (default 80 lines, the project's rule), counting from its
declaration line to its closing brace. Strings and comments are skipped when matching braces.

Usage: Scripts/check-function-length.py [--limit N] [FOLDER ...]   (default folder: Sources)
"""
import argparse
import os
import re
import sys

MODIFIERS = (r"(?:(?:public|private|fileprivate|internal|package|open|static|final|override|mutating|"
             r"nonmutating|class|convenience|required|nonisolated|indirect|dynamic|lazy|weak|unowned)"
             r"(?:\([^)]*\))?\s+)*")
DECLARATION = re.compile(r"^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*" + MODIFIERS +
                         r"(func\s+[^\s(<]+|init[?!]?(?=\s*[(<])|deinit\b|subscript(?=\s*[(<])|"
                         r"(?:var|let)\s+\w+\s*:[^=]*\{\s*$)")


CONTINUATION = ("where", "throws", "rethrows", "->", "async", ")", "-", "some", "any")


def code_of(line, state):
    """`line` without comments and string contents; `state` carries block comments and
    multi-line strings across lines."""
    out, i, n = [], 0, len(line)
    while i < n:
        if state["comment"] > 0:
            if line.startswith("*/", i):
                state["comment"] -= 1; i += 2
            elif line.startswith("/*", i):
                state["comment"] += 1; i += 2
            else:
                i += 1
            continue
        if state["multiline"]:
            end = line.find('"""', i)
            if end < 0:
                return "".join(out)
            state["multiline"] = False; i = end + 3
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["comment"] += 1; i += 2
            continue
        if line.startswith('"""', i) or line.startswith('#"""', i):
            state["multiline"] = True; i += 3 if line[i] == '"' else 4
            continue
        if line[i] == '"' or line.startswith('#"', i):
            i += 1 if line[i] == '"' else 2
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        out.append(line[i]); i += 1
    return "".join(out)


def long_functions(path, limit):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    state = {"comment": 0, "multiline": False}
    open_functions, depth, pending = [], 0, None
    for number, raw in enumerate(lines, 1):
        starts_in_string = state["multiline"]
        code = code_of(raw, state)
        match = None if starts_in_string else DECLARATION.match(code)
        stripped = code.strip()
        if pending and not match and "{" not in code and pending[2] == 0 and stripped \
                and not stripped.startswith(CONTINUATION):
            pending = None                   # a declaration without a body (protocol requirement)
        if match:
            pending = [match.group(1).split("(")[0].strip(), number, 0]
        for ch in code:
            if ch in "()" and pending:
                pending[2] += 1 if ch == "(" else -1
            if ch == "{":
                depth += 1
                if pending:
                    open_functions.append((pending[0], pending[1], depth)); pending = None
            elif ch == "}":
                if open_functions and open_functions[-1][2] == depth:
                    name, start, _ = open_functions.pop()
                    length = number - start + 1
                    if length > limit:
                        yield length, start, name
                depth -= 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", default=["Sources"])
    parser.add_argument("--limit", type=int, default=80)
    arguments = parser.parse_args()
    found = []
    for folder in arguments.folders:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if name.endswith(".swift"):
                    path = os.path.join(root, name)
                    found += [(length, path, start, what) for length, start, what in long_functions(path, arguments.limit)]
    for length, path, start, what in sorted(found, reverse=True):
        print(f"{path}:{start}: {what} is {length} lines (limit {arguments.limit})")
    if found:
        print(f"{len(found)} function(s) longer than {arguments.limit} lines: split them into named steps", file=sys.stderr)
        return 1
    print(f"no function longer than {arguments.limit} lines in {', '.join(arguments.folders)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

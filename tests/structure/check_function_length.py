#!/usr/bin/env python3
"""Lists the C++ functions in src/ and drivers/ (not their tests) whose body is longer than a
limit, so that long functions are found by the test suite rather than by review.

A function body is a '{' whose text before it ends like a signature (')' followed by const,
override, noexcept, a trailing return type or a member-initialiser list), opened outside any other
function. Lambdas inside a function count as part of it. Comments and string literals are
ignored. The length is the number of lines from the opening to the closing brace.

  check_function_length.py ROOT [--max N]   exit 1 listing every function over N lines (80)
  check_function_length.py --self-test
"""

import os
import re
import sys
import tempfile

SIGNATURE_END = re.compile(
    r"\)\s*(?:const\s*)?(?:&&?\s*)?(?:noexcept(?:\([^)]*\))?\s*)?(?:override\s*|final\s*)*"
    r"(?:->\s*[\w:<>,\s*&]+)?\s*(?::\s*[\w:]+\s*(?:\([^;{}]*\)|\{[^;{}]*\})(?:\s*,\s*[\w:]+\s*(?:\([^;{}]*\)|\{[^;{}]*\}))*\s*)?$",
    re.S)
CONTROL = re.compile(r"\b(if|for|while|switch|catch|return)\s*\($|\b(if|for|while|switch|catch)\b[^;]*\)$", re.S)


def strip(text):
    """Comments and string/char literals replaced by spaces, newlines kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i)
            j = n if j < 0 else j + len(end)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """(first line, line count, signature text) of every top-level function body."""
    code = strip(text)
    found = []
    stack = []  # per open brace: True when it opens a function body (or is inside one)
    last_stop = 0
    for i, c in enumerate(code):
        if c in ";":
            last_stop = i + 1
        elif c == "{":
            inside = any_open(stack)
            head = code[last_stop:i].strip()
            is_function = (not inside and bool(SIGNATURE_END.search(head)) and not CONTROL.search(head)
                           and not re.match(r"^(namespace|class|struct|enum|union|extern)\b", head))
            stack.append((is_function, i, head))
            last_stop = i + 1
        elif c == "}":
            if stack:
                is_function, start, head = stack.pop()
                if is_function:
                    first = code.count("\n", 0, start) + 1
                    last = code.count("\n", 0, i) + 1
                    found.append((first, last - first + 1, " ".join(head.split())[-120:]))
            last_stop = i + 1
    # Functions inside functions were never marked: `inside` stops them.
    return found


def any_open(stack):
    return any(s[0] for s in stack)


def scan(root, limit):
    over = []
    for top in ("src", "drivers"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            if "/tests" in dirpath[len(root):]:
                continue
            for name in sorted(files):
                if not name.endswith((".cc", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for first, count, head in functions(text):
                    if count > limit:
                        over.append((count, f"{os.path.relpath(path, root)}:{first}", head))
    return sorted(over, reverse=True)


def self_test():
    sample = '''
namespace x {
int short_one(int a) { return a; }
struct S {
    S(int a) : m_a(a), m_b{a} {
        auto f = [](int b) { return b; };
    }
    int m_a, m_b;
};
const char* s = "{ not a brace";
Result<void> long_one(const std::string& name) const {
    if (name.empty()) {
        return {};
    }
''' + "    call();\n" * 90 + '''}
}
'''
    found = functions(sample)
    lengths = sorted(c for _, c, _ in found)
    assert len(found) == 3, found
    assert lengths[-1] == 95, found
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "src", "a"))
        with open(os.path.join(root, "src", "a", "a.cc"), "w") as f:
            f.write(sample)
        over = scan(root, 80)
        assert len(over) == 1 and over[0][0] == 95 and over[0][1] == "src/a/a.cc:11", over
    print("check_function_length self-test: 1 passed, 0 failed")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--max"):
        print(__doc__, file=sys.stderr)
        return 2
    limit = int(argv[3]) if len(argv) == 4 else 80
    over = scan(argv[1], limit)
    for count, where, head in over:
        print(f"{where}: {count} lines (limit {limit}): {head}")
    print(f"check_function_length: {len(over)} functions over {limit} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

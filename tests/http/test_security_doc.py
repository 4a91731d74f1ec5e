"""docs/SECURITY.md, the other pages of docs/ and the README say which test
holds each promise: every test it names is one the tree has (a renamed or
folded test left the page citing one that no longer runs), every test file
it names exists, and every other snake_case name in backticks (a C test
case, a store operation) is a word of tests/ or src/."""

import re

from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def cited(path):
    """The names and paths inside `backticks` that look like tests."""
    out = set()
    for quoted in re.findall(r"`([^`\s]+)`", path.read_text()):
        for part in quoted.split("::"):
            if part.startswith("tests/") or re.fullmatch(
                    r"(test_|ct_)\w+|[a-z0-9]+(_[a-z0-9]+){2,}", part):
                out.add(part)
    return out


def defined():
    """Every test function, case and helper the tests define, and every
    word of the tests' and sources' C and Python text."""
    names, words = set(), set()
    for top in ("tests", "src"):
        for f in (REPO / top).rglob("*"):
            if f.suffix not in (".py", ".c", ".h"):
                continue
            text = f.read_text(errors="replace")
            words |= set(re.findall(r"\w+", text))
            if top == "tests" and f.suffix == ".py":
                names |= set(re.findall(r"^def (\w+)", text, re.M))
            elif top == "tests":
                names |= set(re.findall(r"\b(\w+)\s*\(", text))
    return names, words


def test_every_test_the_security_page_names_exists():
    names, words = defined()
    files = {f.stem for f in (REPO / "tests").rglob("test_*")
             if f.suffix in (".py", ".c")}
    missing = []
    for doc in DOCS:
        # other snake_case words: the pages that cite C cases and store
        # operations (nginx.md's are nginx's own directives)
        strict = doc.name in ("SECURITY.md", "README.md")
        for c in sorted(cited(doc)):
            if "<" in c:
                continue  # a pattern (tests/unit/<part>/), not a path
            if c.startswith("tests/"):
                ok = any((REPO / (c + ext)).exists()
                         for ext in ("", ".c", ".py"))
            elif c.startswith(("test_", "ct_")):
                ok = c in names or c in files  # a test, or a suite's binary
            else:
                ok = c in words or not strict
            if not ok:
                missing.append(f"{doc.name}: {c}")
    assert not missing, missing

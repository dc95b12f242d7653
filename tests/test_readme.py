"""README.md and docs/: no reference that points outside the repository, every link
and anchor resolves, every command and processing string shown parses, and the key
reference lists every key the parser takes."""

from __future__ import annotations

import re
import shlex
import subprocess
import unicodedata
from pathlib import Path

import pytest

from engine.params import KEYS, parse

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]
#: Names of documents a clone does not have (spelled in pieces so this file does not match itself).
ABSENT = ["../" + "shared", "ARCHITECTURE" + ".md", "docs_batch" + ".md", "STYLE" + ".md", "seeds" + "/"]
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".in", ""}


def _repository_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    paths = [REPO / name for name in listed]
    return [p for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES and p.stat().st_size < 1_000_000]


def test_no_reference_points_outside_the_repository():
    found = []
    for path in _repository_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            found += [f"{path.relative_to(REPO)}:{number}: {name}" for name in ABSENT if name in line]
    assert found == []


def _spec_sections() -> set[str]:
    return set(re.findall(r"^## (\d+)\. ", (REPO / "docs" / "SPEC.md").read_text(), flags=re.M))


def test_every_spec_section_named_exists():
    sections = _spec_sections()
    assert sections == {str(n) for n in range(1, 8)}
    named = {}
    for path in _repository_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number in re.findall(r"SPEC §(\d+)", text):
            named.setdefault(number, str(path.relative_to(REPO)))
    assert named and {n: where for n, where in named.items() if n not in sections} == {}


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    counts: dict[str, int] = {}
    for heading in _headings(path.read_text()):
        slug = _slug(heading)
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _headings(text: str) -> list[str]:
    headings, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^#{1,6} (.*)", line)):
            headings.append(m[1])
    return headings


def _outside_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_and_anchors_resolve(doc):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", _outside_code(doc.read_text())):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no such heading")
    assert broken == []


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), flags=re.M | re.S)


def _snapshots_commands() -> list[list[str]]:
    """Every ``snapshots …`` command in the README's shell blocks, as argument lists."""
    commands = []
    for block in _code_blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            try:
                words = shlex.split(line, comments=True)
            except ValueError:  # a here-document's content, not shell
                continue
            command: list[str] = []
            for word in [*words, "&&"]:
                if word in ("&&", "&", ";", "|"):
                    # A synopsis ([--option VALUE] …) shows the syntax, not a command to run.
                    synopsis = any(w.startswith("[") or "…" in w for w in command)
                    if command and command[0].endswith("snapshots") and not synopsis:
                        commands.append(command[1:])
                    command = []
                else:
                    command.append(word)
    return commands


def test_the_readme_shows_commands():
    assert len(_snapshots_commands()) >= 8


@pytest.mark.parametrize("args", _snapshots_commands(), ids=" ".join)
def test_every_command_shown_parses(args):
    from engine import cli

    if args[0] in cli.SUBCOMMANDS:
        import importlib

        parser = importlib.import_module(cli.SUBCOMMANDS[args[0]]).build_parser()
        parser.parse_args(args[1:])  # SystemExit (a failed test) on anything it does not take
        return
    parsed = cli.build_parser().parse_args(args)
    parse(parsed.process)


def _key_reference() -> str:
    text = README.read_text()
    return text[text.index("## Key reference"):text.index("## Python API")]


def test_the_key_reference_lists_every_key_and_each_example_parses():
    reference = _key_reference()
    keys_table = reference[:reference.index("| mode |")]
    rows = re.findall(r"^\| ((?:`\w+`\*?(?:, )?)+) \|", keys_table, flags=re.M)
    assert {key for row in rows for key in re.findall(r"`(\w+)`", row)} == set(KEYS)
    examples = re.findall(r"`(video/snapshots,[^`]+)`", reference)
    modes = {parse(example).mode.value for example in examples}
    assert modes == {"inter", "key", "avg", "dhash"}
    assert len(reference.splitlines()) <= 50  # one screen


def test_the_quick_start_is_the_line_ci_runs_without_a_compiler():
    line = next(line for line in README.read_text().splitlines() if line.startswith("python3 -m venv .venv && "))
    assert line.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/snapshots ")
    assert "grep -m1 '^python3 -m venv .venv && ' \"$root/README.md\"" in (REPO / ".ci" / "install-without-compiler").read_text()

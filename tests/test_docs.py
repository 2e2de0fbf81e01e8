"""The README and docs/ stay a front door with working rooms: links resolve, commands name what exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 260

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    """The text outside code blocks and inline code, where a Markdown link is a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6} (.+)$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto: are not ours to check


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file {resolved}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_an_existing_file_and_heading(page):
    assert relative_links(page) or page.name != "README.md"  # the README links its rooms
    assert broken_links(page) == []


def test_a_link_to_a_missing_file_or_heading_is_caught(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# Here\n", encoding="utf-8")
    page.write_text("![chart](chart.png) [ok](there.md#here) [bad](there.md#gone) `[code](nope.md)`\n",
                    encoding="utf-8")
    assert [b.split(":")[0] for b in broken_links(page)] == ["chart.png", "there.md#gone"]


def test_the_readme_stays_a_front_door():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


def makefile_targets() -> set[str]:
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert phony, "the Makefile lists its targets in .PHONY"
    return set(phony.group(1).split())


def test_the_readme_table_lists_every_make_target_and_the_docs_name_only_real_ones():
    targets = makefile_targets()
    readme = README.read_text(encoding="utf-8")
    assert {t for t in targets if f"| `make {t}" not in readme} == set()
    named = {m for page in PAGES for m in re.findall(r"\bmake ([a-z][a-z-]*)", page.read_text(encoding="utf-8"))}
    assert named - targets == set()


def test_every_python_module_the_docs_run_exists():
    ours = ("local", "ops", "model", "bench", "handler")
    modules = {m for page in PAGES for m in re.findall(r"python -m ([\w.]+)", page.read_text(encoding="utf-8"))
               if m.split(".")[0] in ours}
    assert modules, "the docs run our modules"
    missing = {m for m in modules
               if not (ROOT / (m.replace(".", "/") + ".py")).is_file() and not (ROOT / m.replace(".", "/")).is_dir()}
    assert missing == set()

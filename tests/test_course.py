"""The course as a whole: every notebook links its exercises and ends with its references.

Checks, for every notebook in notebooks/ (whoever wrote it):

- it links at least one exercise by a relative link that resolves (``../exercises/exNN_....ipynb``);
- every exercise that says it "goes with" a notebook is linked from that notebook;
- its last cell is a "References" section with at least one entry, and every entry's
  author-and-year appears on the course's references page (docs/references.md), which the
  README links to.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("ex[0-9][0-9]_*.ipynb"))
REFERENCES_PAGE = ROOT / "docs" / "references.md"

# A markdown link to an exercise notebook: [text](../exercises/ex01_beta_update.ipynb)
EXERCISE_LINK = re.compile(r"\]\((\.\./exercises/(ex\d\d_[A-Za-z0-9_]+\.ipynb))\)")
# An exercise's "Goes with [notebook 02, ...](../notebooks/02_beta_priors.ipynb)"
GOES_WITH = re.compile(r"Goes with \[[^\]]*\]\(\.\./notebooks/(\d\d_[A-Za-z0-9_]+\.ipynb)\)")
# A reference entry starts with its authors (or its title) and "(year)" or "(n.d.)"
REFERENCE_ENTRY = re.compile(r"^- (.+?)\((\d{4}[a-z]?|n\.d\.)\)")
INITIAL = re.compile(r"^(?:[A-Z]\.|[A-Z]\.-?[A-Z]\.)$")


def markdown_of(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"], cells


def _plain(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().strip()


def reference_keys(text):
    """(first author's surname, or the title; year) of each entry: "Chapelle, O., & Li, L.
    (2011)" and "O. Chapelle and L. Li (2011)" are the same source."""
    keys = []
    for line in text.splitlines():
        m = REFERENCE_ENTRY.match(line.strip())
        if not m:
            continue
        who, year = m.group(1).strip(), m.group(2)
        if who.startswith("*"):  # a title: the two source articles
            first = who.strip("* .")
        else:
            author = re.split(r",| and | & ", who)[0].strip()
            words = [w for w in author.split() if not INITIAL.match(w)]
            first = " ".join(words) if words else author
        keys.append((_plain(first).lower(), year))
    return keys


def test_the_course_has_notebooks_and_exercises():
    assert len(NOTEBOOKS) >= 10, f"only {len(NOTEBOOKS)} notebooks found in notebooks/"
    assert len(EXERCISES) >= 9, f"only {len(EXERCISES)} exercises found in exercises/"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_links_an_exercise(notebook):
    texts, _ = markdown_of(notebook)
    links = [m.group(1) for text in texts for m in EXERCISE_LINK.finditer(text)]
    assert links, (
        f"{notebook.name} links no exercise: add a relative link such as "
        "[Exercise 1](../exercises/ex01_beta_update.ipynb) to its recap."
    )
    broken = [link for link in links if not (notebook.parent / link).resolve().exists()]
    assert not broken, f"{notebook.name} links exercises that do not exist: {broken}"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda p: p.stem)
def test_each_exercise_is_linked_from_its_notebook(exercise):
    texts, _ = markdown_of(exercise)
    goes_with = {m.group(1) for text in texts for m in GOES_WITH.finditer(text)}
    assert goes_with, (
        f"{exercise.name} does not say which notebook it goes with ('Goes with [notebook ...](../notebooks/...)')."
    )
    for name in goes_with:
        notebook = ROOT / "notebooks" / name
        assert notebook.exists(), f"{exercise.name} goes with {name}, which does not exist."
        texts, _ = markdown_of(notebook)
        linked = {m.group(2) for text in texts for m in EXERCISE_LINK.finditer(text)}
        assert exercise.name in linked, f"{name} does not link its exercise {exercise.name}."


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_references(notebook):
    _, cells = markdown_of(notebook)
    last = cells[-1]
    text = "".join(last["source"]) if last["cell_type"] == "markdown" else ""
    heading = text.rfind("## References")
    assert heading >= 0 and "\n## " not in text[heading + 1 :] and "\n# " not in text[heading:], (
        f"{notebook.name} must end with a 'References' section ('## References' in its last "
        f"cell, the last heading of the notebook); its last cell starts with {text.strip()[:60]!r}."
    )
    keys = reference_keys(text[heading:])
    assert keys, f"{notebook.name}'s References list no entry ('- Author, A. (year). Title...')."
    page = REFERENCES_PAGE.read_text(encoding="utf-8") if REFERENCES_PAGE.exists() else ""
    missing = sorted(set(keys) - set(reference_keys(page)))
    assert not missing, (
        f"{notebook.name} cites sources the course's references page "
        f"(docs/references.md) does not list (first author, year): {missing}"
    )


def test_references_page_lists_every_notebook_and_is_linked():
    assert REFERENCES_PAGE.exists(), (
        "docs/references.md, the page that gathers every source, is missing."
    )
    page = REFERENCES_PAGE.read_text(encoding="utf-8")
    assert reference_keys(page), "docs/references.md lists no entry."
    for notebook in NOTEBOOKS:
        assert f"../notebooks/{notebook.name}" in page, (
            f"docs/references.md does not link {notebook.name} (each source says which notebooks cite it)."
        )
    links = re.findall(r"\]\(\.\./([^)#]+)", page)
    broken = [link for link in links if not (ROOT / link).exists()]
    assert not broken, f"docs/references.md has broken relative links: {broken}"
    assert "docs/references.md" in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "the README does not link docs/references.md"
    )


def test_readme_states_the_prerequisites():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^#+ .*Prerequisites", readme, re.MULTILINE | re.IGNORECASE), (
        "the README has no 'Prerequisites' section"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS + EXERCISES, ids=lambda p: p.stem)
def test_tables_are_shown_as_tables_not_printed_text(notebook):
    # pandas' own display (an HTML table in the lab and on the site), not print(df.to_string())
    _, cells = markdown_of(notebook)
    printed = [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and re.search(r"\.to_string\(", "".join(c["source"]))
    ]
    assert not printed, (
        f"cells {printed} print a table as text: end the cell with it, or display() it"
    )

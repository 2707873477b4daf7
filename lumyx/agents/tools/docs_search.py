"""The ``search_docs`` tool: a small TF-IDF search (titles weigh more) over this
instance's README sections and docs pages, the pages' code samples filled in.
The index is built on first use and again whenever one of its files changes."""

from __future__ import annotations

import functools
import html
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from lumyx.agents.tools.server_tool import ServerTool, ToolError
from lumyx.catalog.samples import SAMPLES_FILE

log = logging.getLogger("lumyx.agents")

ROOT = Path(__file__).resolve().parents[3]
WORD_RE = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    "a an and are as at be by do does for from how i in is it of on or the this to what when "
    "where which who why with you your can my me".split()
)
DOC_RESULTS = 3
EXCERPT_CHARS = 1200


@dataclass(frozen=True)
class DocSection:
    title: str
    source: str
    text: str


def _readme_sections(path: Path) -> list[DocSection]:
    sections, title, lines, in_code = [], "Lumyx", [], False
    anchor = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = re.match(r"(#{1,4})\s+(.*)", line) if not in_code else None
        if heading:
            if "".join(lines).strip():
                sections.append(DocSection(title, f"README.md{anchor}", "\n".join(lines).strip()))
            title, lines = heading.group(2).strip(), []
            anchor = "#" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append(DocSection(title, f"README.md{anchor}", "\n".join(lines).strip()))
    return sections


_JINJA_RE = re.compile(r"\{#.*?#\}|\{%.*?%\}", re.S)
_EXPR_RE = re.compile(r"\{\{(.*?)\}\}", re.S)
_SAMPLE_RE = re.compile(r"""samples\.get\(\s*["']([^"']+)["']\s*\)""")
_TAG_RE = re.compile(r"<[^>]+>")
_H2_RE = re.compile(r"""<h2(?:\s[^>]*?\bid="([^"]*)")?[^>]*>(.*?)</h2>""", re.S)


def _page_text(fragment: str, samples: dict[str, str]) -> str:
    def expression(match: re.Match) -> str:
        sample = _SAMPLE_RE.search(match.group(1))
        if sample:
            return "\n" + samples.get(sample.group(1), "") + "\n"
        literal = re.search(r"""^\s*\w+\(\s*(['"])(.*?)\1""", match.group(1), re.S)
        return literal.group(2) if literal else ""

    text = _EXPR_RE.sub(expression, _JINJA_RE.sub("", fragment))
    text = html.unescape(_TAG_RE.sub(" ", text))
    return re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n", text)).strip()


def _docs_sections(directory: Path, samples: dict[str, str]) -> list[DocSection]:
    sections = []
    for path in sorted(directory.glob("*.html")):
        if path.stem in ("layout", "index") or path.stem.startswith("_"):
            continue
        page = path.stem.replace("-", " ").capitalize()
        source = f"/docs/{path.stem}"
        raw = path.read_text(encoding="utf-8")
        cuts = list(_H2_RE.finditer(raw))
        intro = raw[: cuts[0].start()] if cuts else raw
        if _page_text(intro, samples):
            sections.append(DocSection(page, source, _page_text(intro, samples)))
        for i, cut in enumerate(cuts):
            end = cuts[i + 1].start() if i + 1 < len(cuts) else len(raw)
            heading = _page_text(cut.group(2), samples)
            anchor = f"#{cut.group(1)}" if cut.group(1) else ""
            sections.append(
                DocSection(f"{page}: {heading}", source + anchor, _page_text(raw[cut.end() : end], samples))
            )
    return sections


def _samples(path: Path) -> dict[str, str]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {e["id"]: str(e.get("code") or "") for e in entries or () if isinstance(e, dict) and "id" in e}


def _sources() -> tuple[Path, Path, Path]:
    return ROOT / "README.md", ROOT / "templates" / "docs", SAMPLES_FILE


def _stamp() -> tuple:
    readme, docs, samples = _sources()
    paths = [readme, samples, *(sorted(docs.glob("*.html")) if docs.is_dir() else ())]
    return tuple((str(p), p.stat().st_mtime_ns) for p in paths if p.exists())


@functools.lru_cache(maxsize=2)
def _index(stamp: tuple) -> list[tuple[DocSection, dict[str, int], set[str]]]:
    readme, docs, samples_file = _sources()
    sections: list[DocSection] = []
    if readme.exists():
        sections += _readme_sections(readme)
    try:
        samples = _samples(samples_file) if samples_file.exists() else {}
    except Exception:
        log.warning("search_docs: %s is unreadable; indexing the docs without samples", samples_file)
        samples = {}
    if docs.is_dir():
        try:
            sections += _docs_sections(docs, samples)
        except Exception:
            log.warning("search_docs: the docs pages could not be indexed; searching the README only")
    index = []
    for section in sections:
        counts: dict[str, int] = {}
        for word in WORD_RE.findall(section.text.lower()):
            counts[word] = counts.get(word, 0) + 1
        index.append((section, counts, set(WORD_RE.findall(section.title.lower()))))
    return index


def search_docs(query: str, limit: int = DOC_RESULTS) -> list[dict]:
    """The sections that best match the query (a small TF-IDF with title boost)."""
    terms = [w for w in WORD_RE.findall(query.lower()) if w not in STOP_WORDS] or WORD_RE.findall(query.lower())
    index = _index(_stamp())
    if not terms or not index:
        return []
    total = len(index)
    scored = []
    for section, counts, title_words in index:
        score = 0.0
        for term in set(terms):
            df = sum(1 for _, c, t in index if term in c or term in t)
            idf = math.log(1 + total / (1 + df))
            if term in counts:
                score += (1 + math.log(counts[term])) * idf
            if term in title_words:
                score += 3 * idf
        if score > 0:
            scored.append((score, section))
    scored.sort(key=lambda pair: -pair[0])
    return [{"title": s.title, "source": s.source, "excerpt": s.text[:EXCERPT_CHARS]} for _, s in scored[:limit]]


def _search_docs(arguments: dict) -> dict:
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolError("'query' must be a non-empty string")
    results = search_docs(query[:500])
    return {"query": query[:500], "results": results}


SEARCH_DOCS = ServerTool(
    "search_docs",
    "Search this gateway's documentation; returns the best matching sections with their titles.",
    {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to look for"}},
        "required": ["query"],
    },
    _search_docs,
)

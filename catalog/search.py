"""Chinese full-text search (C7) that runs the same on SQLite and PostgreSQL.

Chinese has no spaces, so an entry is indexed by the character bigrams of its name, item names and
summary (single characters too, for one-character queries), and Latin text by lower-cased words —
the CJK-bigram approach of Lucene's CJKAnalyzer. A query matches an entry that holds all its terms;
entries are ranked by the summed field weights (name above item names above summary).
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import yaml
from django.db.models import Count, QuerySet, Sum

from .models import Resource, SearchTerm

WEIGHTS = {"name": 100, "code": 60, "item": 30, "provider": 20, "summary": 10}
_RUNS = re.compile(r"[\u3400-\u9fff]+|[A-Za-z0-9]+")
MAX_TERMS = 12


def terms(text: str, *, with_unigrams: bool = True) -> set[str]:
    found: set[str] = set()
    for run in _RUNS.findall(text or ""):
        if run.isascii():
            found.add(run.lower()[:40])
            continue
        if with_unigrams or len(run) == 1:
            found.update(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def query_terms(text: str) -> list[str]:
    """Bigrams of each Chinese run (a lone character stays itself), and Latin words."""
    found: list[str] = []
    for run in _RUNS.findall(text or ""):
        if run.isascii():
            found.append(run.lower()[:40])
        elif len(run) == 1:
            found.append(run)
        else:
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return list(dict.fromkeys(found))[:MAX_TERMS]


def _rows(resource: Resource, item_names: list[str]) -> list[SearchTerm]:
    weights: dict[str, int] = defaultdict(int)
    fields = [
        ("name", resource.name),
        ("code", resource.code),
        ("provider", resource.provider.name),
        ("summary", resource.summary),
    ] + [("item", name) for name in item_names]
    for field, text in fields:
        for term in terms(text):
            weights[term] = max(weights[term], WEIGHTS[field]) + (1 if field == "item" else 0)
    return [SearchTerm(resource=resource, term=t, weight=w) for t, w in weights.items()]


def index(resource: Resource) -> None:
    """(Re)build the index rows of one entry. Called by the services that change it."""
    SearchTerm.objects.filter(resource=resource).delete()
    SearchTerm.objects.bulk_create(_rows(resource, [i.name for i in resource.items.all()]), batch_size=1000)


def index_many(resources) -> int:
    """Index many entries at once (a catalog import, a rebuild): one delete, batched inserts."""
    resources = list(resources.select_related("provider").prefetch_related("items"))
    SearchTerm.objects.filter(resource__in=resources).delete()
    rows = [row for r in resources for row in _rows(r, [i.name for i in r.items.all()])]
    SearchTerm.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


@lru_cache(maxsize=1)
def synonyms() -> dict[str, list[str]]:
    return yaml.safe_load((Path(__file__).parent / "synonyms.yaml").read_text(encoding="utf-8")) or {}


def variants(text: str) -> list[str]:
    """The query as typed, and with each known abbreviation spelled out (社保 → 社会保险)."""
    found = [text]
    for short, longs in synonyms().items():
        if short in text:
            found.extend(text.replace(short, long) for long in longs)
    return found


def _top(qs: QuerySet, wanted: list[str], limit: int) -> list[tuple[int, int]]:
    """(entry id, score) of the best ``limit`` entries holding every term, ranked in the database."""
    postings = SearchTerm.objects.filter(term__in=wanted)
    if qs.query.where:  # only restrict to the visible entries when something is hidden
        postings = postings.filter(resource__in=qs.values("pk"))
    return list(
        postings.values("resource")
        .annotate(hits=Count("term"), score=Sum("weight"))
        .filter(hits=len(wanted))
        .order_by("-score", "resource")
        .values_list("resource", "score")[:limit]
    )


def rank(qs: QuerySet, text: str, limit: int = 100) -> list[Resource]:
    """The best ``limit`` entries of ``qs`` holding every term of ``text`` (or of a spelled-out variant)."""
    best: dict[int, int] = {}
    searched = False
    for variant in variants(text):
        wanted = query_terms(variant)
        if not wanted:
            continue
        searched = True
        for pk, score in _top(qs, wanted, limit):
            best[pk] = max(score, best.get(pk, 0))
    if not searched:
        return list(qs[:limit])
    order = sorted(best, key=lambda pk: (-best[pk], pk))[:limit]
    by_id = qs.in_bulk(order)
    return [by_id[pk] for pk in order if pk in by_id]

"""The matching engine: candidates by blocking keys, scored, grouped by golden record.

``records_link`` links many site Patients at once (a page of sync, or a whole new
site): one query fetches every candidate of the batch, records of the batch are
also matched against each other, and rows are written in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction

from federation.identity.features import Features, blocking_keys
from federation.identity.models import GoldenRecord, LinkMethod, MatchReview, MpiBlockKey, MpiRecord
from federation.identity.scoring import MatchConfig, score

MAX_REVIEWS_PER_RECORD = 3
MPI_LOCK = 5_201_315  # pg advisory lock key of the linker


@dataclass
class GoldenCandidate:
    golden_id: int
    score: float
    record_id: int | None  # the best-scoring record of that golden record
    parts: dict[str, float] = field(default_factory=dict)


@dataclass
class _Known:
    record_id: int | None
    golden_id: int | None
    features: Features
    batch_index: int | None = None  # for records of the batch not written yet


def _rank(features: Features, known: list[_Known], config: MatchConfig) -> list[tuple[object, GoldenCandidate]]:
    """Candidates grouped by golden record (or batch cluster), best first; a resident ID conflict vetoes."""
    best: dict[object, GoldenCandidate] = {}
    vetoed: set[object] = set()
    for other in known:
        group = other.golden_id if other.golden_id is not None else ("batch", other.batch_index)
        if features.rid and other.features.rid and features.rid != other.features.rid:
            vetoed.add(group)
            continue
        total, parts = score(features, other.features, config)
        current = best.get(group)
        if current is None or total > current.score:
            best[group] = GoldenCandidate(
                golden_id=other.golden_id or 0, score=total, record_id=other.record_id, parts=parts
            )
    ranked = [(g, c) for g, c in best.items() if g not in vetoed]
    ranked.sort(key=lambda item: -item[1].score)
    return ranked


_CANDIDATES_SQL = """
    SELECT k.key, r.id, r.golden_id, r.features
    FROM federation_mpiblockkey k JOIN federation_mpirecord r ON r.id = k.record_id
    WHERE k.key = ANY(%s)
"""


def _candidates_by_key(keys: list[str]) -> dict[str, list[_Known]]:
    by_key: dict[str, list[_Known]] = defaultdict(list)
    if not keys:
        return by_key
    seen: dict[int, _Known] = {}
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, [keys])
        for key, record_id, golden_id, features in cursor.fetchall():
            known = seen.get(record_id)
            if known is None:
                if isinstance(features, str):
                    import json

                    features = json.loads(features)
                known = seen[record_id] = _Known(record_id, golden_id, Features.from_json(features))
            by_key[key].append(known)
    return by_key


def candidates_find(*, features: Features, config: MatchConfig, limit: int = 10) -> list[GoldenCandidate]:
    """Golden records that may be the person described by ``features`` (for ``$match``)."""
    by_key = _candidates_by_key(blocking_keys(features))
    known = list({id(k): k for hits in by_key.values() for k in hits}.values())
    return [c for _g, c in _rank(features, known, config)[:limit]]


def _keys_replace(record: MpiRecord, keys: list[str]) -> None:
    MpiBlockKey.objects.filter(record=record).delete()
    MpiBlockKey.objects.bulk_create([MpiBlockKey(key=k, record=record) for k in keys])


@dataclass
class LinkItem:
    site_code: str
    patient_id: str
    features: Features


@dataclass
class LinkReport:
    created: int = 0
    updated: int = 0
    auto_linked: int = 0
    new_people: int = 0
    reviews: int = 0
    merged: int = 0
    golden_ids: set[int] = field(default_factory=set)


@transaction.atomic
def records_link(*, items: list[LinkItem], config: MatchConfig | None = None) -> LinkReport:
    """Add site Patients to the index: link each to a golden record, create one, or queue a review."""
    config = config or MatchConfig.from_settings()
    report = LinkReport()
    # One linker at a time: two sites' records of one person arriving together must see each other.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MPI_LOCK])
    existing = {
        r.patient_id: r
        for r in MpiRecord.objects.select_for_update()
        .select_related("golden")
        .filter(patient_id__in=[i.patient_id for i in items])
    }
    fresh: list[LinkItem] = []
    for item in items:
        record = existing.get(item.patient_id)
        if record is None:
            fresh.append(item)
        elif record.features != item.features.to_json():
            report.updated += 1
            if record.method != LinkMethod.MANUAL and not record.golden.records.exclude(pk=record.pk).exists():
                # Alone so far (never a person's decision): match it again with what the site now says.
                report.golden_ids.add(record.golden_id)  # now empty: republished as inactive if it was published
                record.delete()
                fresh.append(item)
                continue
            record.features = item.features.to_json()
            record.save(update_fields=["features", "updated_at"])
            _keys_replace(record, blocking_keys(item.features))
            report.golden_ids.add(record.golden_id)
    if not fresh:
        return report

    keys_of = [blocking_keys(item.features) for item in fresh]
    by_key = _candidates_by_key(sorted({k for keys in keys_of for k in keys}))

    # Decide record by record; records of this batch become candidates for the ones after them. Clusters are
    # golden ids or ("new", n); a record that links surely to two clusters shows they are one person (union-find).
    parent: dict[object, object] = {}

    def find(label: object) -> object:
        while parent.get(label, label) != label:
            label = parent[label]
        return label

    cluster_of: list[object] = []
    decisions: list[tuple[str, float | None, list[GoldenCandidate]]] = []
    new_clusters = 0
    for index, (item, keys) in enumerate(zip(fresh, keys_of, strict=True)):
        seen: dict[int, _Known] = {}
        for key in keys:
            for known in by_key.get(key, ()):
                seen[id(known)] = known
        ranked = _rank(item.features, list(seen.values()), config)
        sure = [
            find(g if not isinstance(g, tuple) else cluster_of[g[1]]) for g, c in ranked if c.score >= config.auto_link
        ]
        if sure:
            cluster = sure[0]
            for other in sure[1:]:
                if other != cluster:
                    # Keep an existing golden record as the survivor rather than a new one.
                    winner, loser = (other, cluster) if isinstance(cluster, tuple) else (cluster, other)
                    parent[loser] = winner
                    cluster = winner
            decisions.append((LinkMethod.AUTO, ranked[0][1].score, []))
        else:
            cluster = ("new", new_clusters)
            new_clusters += 1
            band = [c for g, c in ranked if c.score >= config.review and not isinstance(g, tuple)]
            decisions.append((LinkMethod.NEW, None, band[:MAX_REVIEWS_PER_RECORD]))
        cluster_of.append(cluster)
        mine = _Known(record_id=None, golden_id=None, features=item.features, batch_index=index)
        for key in keys:
            by_key[key].append(mine)

    goldens = GoldenRecord.objects.bulk_create([GoldenRecord() for _ in range(new_clusters)])

    def golden_of(label: object) -> int:
        label = find(label)
        return goldens[label[1]].pk if isinstance(label, tuple) else label

    merged = {label: golden_of(label) for label in parent if not isinstance(label, tuple)}
    for loser, winner in merged.items():
        MpiRecord.objects.filter(golden_id=loser).update(golden_id=winner)
        GoldenRecord.objects.filter(pk=loser).update(active=False, merged_into_id=winner)
        report.golden_ids.update((loser, winner))
    report.merged = len(merged)
    records = []
    for item, cluster, (method, best_score, _band) in zip(fresh, cluster_of, decisions, strict=True):
        golden_id = golden_of(cluster)
        records.append(
            MpiRecord(
                site_code=item.site_code,
                patient_id=item.patient_id,
                golden_id=golden_id,
                features=item.features.to_json(),
                method=method,
                score=best_score,
            )
        )
        report.golden_ids.add(golden_id)
    MpiRecord.objects.bulk_create(records)
    MpiBlockKey.objects.bulk_create(
        [MpiBlockKey(key=k, record=r) for r, keys in zip(records, keys_of, strict=True) for k in keys], batch_size=5000
    )
    reviews = [
        MatchReview(record=record, candidate_id=c.golden_id, score=c.score, details=c.parts)
        for record, (_m, _s, band) in zip(records, decisions, strict=True)
        for c in band
    ]
    MatchReview.objects.bulk_create(reviews, ignore_conflicts=True)
    report.created = len(records)
    report.auto_linked = sum(1 for m, _s, _b in decisions if m == LinkMethod.AUTO)
    report.new_people = new_clusters
    report.reviews = len(reviews)
    return report

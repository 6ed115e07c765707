"""Failures of a domain in a time range, grouped by signature, cause, version
or platform.

Occurrences are exact: they are summed from the hourly ``FailureCount`` rows,
so a range is read in whole hours (an hour counts when it starts at or after
``since`` rounded down to the hour, and before ``until``).

``first_seen`` and ``last_seen`` combine those hours with the exact first and
last failure times each signature keeps. They are exact for a signature whose
failures all fall inside the range, and accurate to the hour otherwise.

Unique installs come from ``SignatureInstall``, which keeps each install that
hit a signature with the time of its first hit. They count the installs that
hit the group's signatures before ``until``, including hits before
``since``. They are exact for signature, classification and platform groups,
and restricted to one app with the ``app`` filter. No stored table ties an
install to the version it ran when it failed, so version groups and the
``version`` filter return no install count.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from service.analysis.schemas import FailureGroup, GroupBy
from service.analysis.signatures import signature_id
from service.ingest.models import (
    FailureCount,
    FailureSignature,
    Install,
    SignatureInstall,
)
from service.registry.models import App, Release

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class FailureQuery:
    """Filters of a grouped failure listing."""

    domain_id: int
    since: datetime
    until: datetime
    group_by: GroupBy = "signature"
    classification: str | None = None
    app_id: int | None = None
    version: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class BucketTotal:
    """Occurrences of one signature, app and release within the range."""

    signature: FailureSignature
    app: App
    version: str
    occurrences: int
    first_hour: datetime
    last_hour: datetime

    def first_seen(self) -> datetime:
        return max(self.first_hour, self.signature.first_seen_at)

    def last_seen(self) -> datetime:
        return min(self.last_hour + HOUR, self.signature.last_seen_at)


@dataclass
class GroupTotals:
    """A group being summed up from its bucket totals."""

    key: str
    app: str | None
    first_seen: datetime
    last_seen: datetime
    occurrences: int = 0
    classifications: Counter[str] = field(default_factory=Counter)
    signature_ids: set[int] = field(default_factory=set)
    apps: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    unique_installs: int | None = None

    def add(self, total: BucketTotal) -> None:
        self.occurrences += total.occurrences
        self.classifications[total.signature.classification] += total.occurrences
        self.signature_ids.add(total.signature.id)
        self.apps.add(total.app.ref)
        self.versions.add(total.version)
        self.first_seen = min(self.first_seen, total.first_seen())
        self.last_seen = max(self.last_seen, total.last_seen())

    def to_schema(self) -> FailureGroup:
        only = (
            next(iter(self.classifications)) if len(self.classifications) == 1 else None
        )
        return FailureGroup(
            key=self.key,
            app=self.app,
            classification=only,
            classifications=dict(self.classifications),
            occurrences=self.occurrences,
            unique_installs=self.unique_installs,
            signatures=len(self.signature_ids),
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            apps=sorted(self.apps),
            versions=sorted(self.versions),
        )


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _bucket_statement(
    query: FailureQuery,
) -> Select[FailureSignature, App, str, int, datetime, datetime]:
    # Grouping by each table's primary key lets PostgreSQL select whole rows.
    statement = (
        select(
            FailureSignature,
            App,
            Release.version,
            func.sum(FailureCount.occurrences),
            func.min(FailureCount.hour),
            func.max(FailureCount.hour),
        )
        .join(FailureSignature, FailureSignature.id == FailureCount.signature_id)
        .join(App, App.id == FailureCount.app_id)
        .join(Release, Release.id == FailureCount.release_id)
        .where(
            FailureSignature.domain_id == query.domain_id,
            FailureCount.hour >= hour_start(query.since),
            FailureCount.hour < query.until,
        )
        .group_by(FailureSignature.id, App.id, Release.id)
    )
    if query.classification is not None:
        statement = statement.where(
            FailureSignature.classification == query.classification
        )
    if query.app_id is not None:
        statement = statement.where(FailureCount.app_id == query.app_id)
    if query.version is not None:
        statement = statement.where(Release.version == query.version)
    return statement


def bucket_totals(session: Session, query: FailureQuery) -> list[BucketTotal]:
    """Sum the hourly counts in the range per signature, app and release."""
    rows = session.execute(_bucket_statement(query)).all()
    return [
        BucketTotal(
            signature=signature,
            app=app,
            version=version,
            # PostgreSQL returns the sum of a bigint column as a numeric.
            occurrences=int(occurrences),
            first_hour=first_hour,
            last_hour=last_hour,
        )
        for signature, app, version, occurrences, first_hour, last_hour in rows
    ]


def group_key(total: BucketTotal, group_by: GroupBy) -> tuple[str, str | None]:
    """Return the key of a bucket total's group, and its app for version groups."""
    if group_by == "signature":
        return signature_id(total.signature.signature), None
    if group_by == "classification":
        return total.signature.classification, None
    if group_by == "version":
        return total.version, total.app.ref
    return total.app.platform, None


def group_totals(totals: list[BucketTotal], group_by: GroupBy) -> list[GroupTotals]:
    """Sum bucket totals into groups, most occurrences first."""
    groups: dict[tuple[str, str | None], GroupTotals] = {}
    for total in totals:
        key, app = group_key(total, group_by)
        group = groups.get((key, app))
        if group is None:
            group = GroupTotals(key, app, total.first_seen(), total.last_seen())
            groups[(key, app)] = group
        group.add(total)
    return sorted(
        groups.values(),
        key=lambda group: (-group.occurrences, group.key, group.app or ""),
    )


def _installs_statement(query: FailureQuery, signature_ids: set[int]) -> Select[Any]:
    statement = (
        select(func.count(distinct(SignatureInstall.install_hash)))
        .select_from(SignatureInstall)
        .where(
            SignatureInstall.signature_id.in_(signature_ids),
            SignatureInstall.first_seen_at < query.until,
        )
    )
    if query.app_id is not None or query.group_by == "platform":
        statement = statement.join(
            Install, Install.install_hash == SignatureInstall.install_hash
        )
    if query.app_id is not None:
        statement = statement.where(Install.app_id == query.app_id)
    return statement


def _platform_installs(
    session: Session, query: FailureQuery, group: GroupTotals
) -> int:
    statement = (
        _installs_statement(query, group.signature_ids)
        .join(App, App.id == Install.app_id)
        .where(App.platform == group.key)
    )
    return session.scalar(statement) or 0


def _signature_installs(
    session: Session, query: FailureQuery, groups: list[GroupTotals]
) -> None:
    # A signature has one classification, so the signature sets of signature
    # and classification groups never overlap and one grouped query suffices.
    by_signature = query.group_by == "signature"
    column = (
        SignatureInstall.signature_id
        if by_signature
        else FailureSignature.classification
    )
    signature_ids = set().union(*(group.signature_ids for group in groups))
    statement = _installs_statement(query, signature_ids).add_columns(column)
    if not by_signature:
        statement = statement.join(
            FailureSignature, FailureSignature.id == SignatureInstall.signature_id
        )
    counts = {key: count for count, key in session.execute(statement.group_by(column))}
    for group in groups:
        key = next(iter(group.signature_ids)) if by_signature else group.key
        group.unique_installs = counts.get(key, 0)


def count_installs(
    session: Session, query: FailureQuery, groups: list[GroupTotals]
) -> None:
    """Set each group's unique installs, where they can be counted exactly."""
    if query.group_by == "version" or query.version is not None or not groups:
        return
    if query.group_by == "platform":
        for group in groups:
            group.unique_installs = _platform_installs(session, query, group)
        return
    _signature_installs(session, query, groups)


def list_failure_groups(
    session: Session, query: FailureQuery
) -> tuple[list[FailureGroup], int]:
    """Return the largest groups (up to ``limit``) and the range's total count."""
    groups = group_totals(bucket_totals(session, query), query.group_by)
    total = sum(group.occurrences for group in groups)
    largest = groups[: query.limit]
    count_installs(session, query, largest)
    return [group.to_schema() for group in largest], total

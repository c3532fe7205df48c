"""The vocabulary of delivery metrics: a period of time, one metric's answer, a trend.

Every metric answers with how many events it is based on, and with no value ("not
enough data") when fewer than ``MIN_EVENTS`` events lie in the period: a median of one
deployment is an anecdote, not a measure.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MIN_EVENTS = 2
WEEK = timedelta(days=7)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC: aware datetimes in one zone subtract by wall clock (DST!)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """From ``start`` (included) to ``end`` (excluded), in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Period:
        return cls(now - timedelta(days=days), now)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def days(self) -> float:
        return self.length / timedelta(days=1)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self) -> Period:
        """The period of the same length just before this one (for trends)."""
        return Period(self.start - self.length, self.start)

    def weeks(self) -> list[Period]:
        """Seven-day buckets from ``start``; the last one ends with the period."""
        buckets = []
        start = self.start
        while start < self.end:
            buckets.append(Period(start, min(start + WEEK, self.end)))
            start += WEEK
        return buckets


@dataclass(frozen=True)
class Measure:
    """One metric over one period: ``value`` (None: not enough data), ``p90`` where the
    metric has one, and how many events it is based on."""

    value: float | None
    events: int
    p90: float | None = None

    @property
    def enough(self) -> bool:
        return self.value is not None


def median_and_p90(samples: Sequence[float]) -> Measure:
    """Median and 90th percentile (linear between closest ranks, as numpy's default)."""
    if len(samples) < MIN_EVENTS:
        return Measure(None, len(samples))
    p90 = statistics.quantiles(samples, n=10, method="inclusive")[8]
    return Measure(statistics.median(samples), len(samples), p90)


def ratio(part: int, whole: int) -> Measure:
    if whole < MIN_EVENTS:
        return Measure(None, whole)
    return Measure(part / whole, whole)


@dataclass(frozen=True)
class Trend:
    """How a metric moved against the previous period: ``change`` relative to it (0.25 is
    25 % more; None when either period has no value or the previous one was zero), and
    whether that is ``better`` (None: no movement or nothing to compare)."""

    change: float | None
    better: bool | None


def trend(current: Measure, previous: Measure, higher_is_better: bool) -> Trend:
    if current.value is None or previous.value is None:
        return Trend(None, None)
    if current.value == previous.value:
        return Trend(0.0, None)
    better = (current.value > previous.value) == higher_is_better
    if previous.value == 0:
        return Trend(None, better)
    return Trend((current.value - previous.value) / previous.value, better)

"""How insights read as text, shared by the command line, the window and the CSV export,
so every place says the same number the same way."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from dockyard.core.model import iso
from dockyard.engine.insights.measures import Measure, Trend
from dockyard.engine.insights.metrics import DeliveryMetrics

if TYPE_CHECKING:  # the window formats with these before it reads any (report reads git)
    from dockyard.engine.insights.report import DeliveryInsights

NOT_ENOUGH = "not enough data"
TITLES = {
    "deployment_frequency": "Deployment frequency",
    "lead_time": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "time_to_restore": "Time to restore",
    "approval_wait": "Approval wait",
}
EVENTS = {
    "deployment_frequency": "deployment",
    "lead_time": "commit",
    "change_failure_rate": "deployment",
    "time_to_restore": "incident",
    "approval_wait": "approval",
}


def span_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 20 min``, ``2 d 4 h``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def value_text(name: str, measure: Measure) -> str:
    """The metric's value as a tile or table shows it, or "not enough data"."""
    if measure.value is None:
        return NOT_ENOUGH
    if name == "deployment_frequency":
        return f"{measure.value:.1f} / week"
    if name == "change_failure_rate":
        return f"{measure.value:.0%}"
    text = span_text(measure.value)
    return text if measure.p90 is None else f"{text} (p90 {span_text(measure.p90)})"


def headline_text(name: str, measure: Measure) -> tuple[str, str]:
    """A tile's big value and the line under it (the p90, where the metric has one)."""
    if measure.value is None or measure.p90 is None:
        return value_text(name, measure), ""
    return span_text(measure.value), f"p90 {span_text(measure.p90)}"


def based_on_text(name: str, metrics: DeliveryMetrics) -> str:
    measure: Measure = getattr(metrics, name)
    text = plural(measure.events, EVENTS[name])
    if name == "deployment_frequency" and metrics.rollbacks:
        text += f", {plural(metrics.rollbacks, 'rollback')} apart"
    if name == "change_failure_rate" and measure.events:
        text += f", {plural(metrics.change_failures, 'change failure')}"
    return text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def trend_text(change: Trend, days: float) -> str:
    """``▲ 25 % vs previous 30 days``; empty when there is nothing to compare."""
    against = f"vs previous {days:g} days"
    if change.better is None and change.change is None:
        return ""
    if change.change == 0:
        return f"= {against}"
    if change.change is None:
        return f"{'better' if change.better else 'worse'} {against} (was 0)"
    arrow = "▲" if change.change > 0 else "▼"
    return f"{arrow} {abs(change.change):.0%} {against}"


def insights_csv(insights: DeliveryInsights) -> str:
    """The numbers of the view: the period, the previous period and each week."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["repo", "environment", "bucket", "from", "to", "metric", "value", "p90", "events"]
    )
    buckets = [("period", insights.current), ("previous", insights.previous)]
    buckets += [("week", week) for week in insights.weekly]
    for bucket, metrics in buckets:
        for name in TITLES:
            measure: Measure = getattr(metrics, name)
            writer.writerow(
                [
                    insights.repo,
                    insights.environment,
                    bucket,
                    iso(metrics.period.start),
                    iso(metrics.period.end),
                    name,
                    "" if measure.value is None else round(measure.value, 6),
                    "" if measure.p90 is None else round(measure.p90, 6),
                    measure.events,
                ]
            )
    return out.getvalue()

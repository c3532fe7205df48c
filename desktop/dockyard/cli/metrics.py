"""``dockyard metrics``: delivery metrics of a repository's environment from the ledger."""

from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta
from typing import Any

from dockyard.cli.context import database, repo_key
from dockyard.core.durations import parse_duration
from dockyard.core.errors import UserInputError
from dockyard.core.model import iso, utcnow
from dockyard.engine.home import dockyard_home
from dockyard.engine.insights.measures import Measure, Period
from dockyard.engine.insights.metrics import DEFAULT_FAILURE_WINDOW
from dockyard.engine.insights.report import DEFAULT_HOTFIX, DeliveryInsights, delivery_insights
from dockyard.engine.insights.texts import TITLES, based_on_text, trend_text, value_text


def register(commands: Any) -> None:
    metrics = commands.add_parser(
        "metrics",
        help="delivery metrics from the ledger: deployment frequency, lead time, change "
        "failure rate, time to restore, approval wait",
    )
    metrics.add_argument("repo")
    metrics.add_argument(
        "--env", default=None, help="environment (default: the last in promotion order)"
    )
    metrics.add_argument("--days", type=int, default=30, help="the last N days (default 30)")
    metrics.add_argument(
        "--failure-window",
        default="24h",
        help="a rollback or hotfix this soon after a deployment makes it a change failure "
        "(default 24h)",
    )
    metrics.add_argument(
        "--hotfix",
        default=DEFAULT_HOTFIX.pattern,
        help="regular expression that marks a hotfix in a run's ref, tag or commit message "
        "(default: hotfix, any case)",
    )
    metrics.add_argument("--json", action="store_true", help="print one JSON object")
    metrics.set_defaults(handler=show_metrics)


def show_metrics(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise UserInputError(f"--days must be 1 or more, not {args.days}.")
    try:
        window = timedelta(seconds=parse_duration(args.failure_window))
        hotfix = re.compile(args.hotfix, re.IGNORECASE)
    except (ValueError, re.error) as exc:
        raise UserInputError(
            f"{exc}; give --failure-window like 24h and --hotfix as a regular expression."
        ) from exc
    db = database()
    insights = delivery_insights(
        dockyard_home(), db, repo_key(args.repo, db), Period.last_days(args.days, utcnow()),
        args.env, failure_window=window or DEFAULT_FAILURE_WINDOW, hotfix=hotfix,
    )  # fmt: skip
    if args.json:
        print(json.dumps(metrics_as_json(insights), indent=2))
        return 0
    print(table(insights))
    return 0


def metrics_as_json(insights: DeliveryInsights) -> dict[str, Any]:
    now = insights.current
    return {
        "repo": insights.repo,
        "environment": insights.environment,
        "period": {
            "from": iso(insights.period.start),
            "to": iso(insights.period.end),
            "days": round(insights.period.days, 3),
        },
        "deployment_frequency_per_week": _number(now.deployment_frequency),
        "lead_time_seconds": {"median": _number(now.lead_time), "p90": _p90(now.lead_time)},
        "change_failure_rate": _number(now.change_failure_rate),
        "time_to_restore_seconds": {"median": _number(now.time_to_restore)},
        "approval_wait_seconds": {
            "median": _number(now.approval_wait),
            "p90": _p90(now.approval_wait),
        },
        "deployments": now.deployments,
        "rollbacks": now.rollbacks,
        "failed_deployments": now.failed,
        "change_failures": now.change_failures,
        "based_on": {name: getattr(now, name).events for name in TITLES},
        "failure_window_seconds": insights.failure_window.total_seconds(),
        "notes": list(insights.notes),
    }


def _number(measure: Measure) -> float | None:
    return None if measure.value is None else round(measure.value, 4)


def _p90(measure: Measure) -> float | None:
    return None if measure.p90 is None else round(measure.p90, 4)


def table(insights: DeliveryInsights) -> str:
    period = insights.period
    lines = [
        f"{insights.repo} · {insights.environment} · {period.start:%Y-%m-%d %H:%M} → "
        f"{period.end:%Y-%m-%d %H:%M} UTC ({period.days:g} days)",
        f"  {'metric':<24}{'value':<30}{'based on':<34}trend",
    ]
    for name, title in TITLES.items():
        lines.append(
            f"  {title:<24}{value_text(name, getattr(insights.current, name)):<30}"
            f"{based_on_text(name, insights.current):<34}"
            f"{trend_text(insights.trends[name], period.days)}"
        )
    lines += [f"  note: {note}" for note in insights.notes]
    return "\n".join(lines)

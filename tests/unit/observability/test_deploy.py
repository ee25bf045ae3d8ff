"""deploy/ and docs/operations.md refer only to metrics that exist, and document all of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from casscade.observability.metrics import Metrics

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "deploy" / "grafana" / "casscade.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
OPERATIONS = REPO / "docs" / "operations.md"
METRIC = re.compile(r"\bcasscade_[a-z0-9_]+")
# Series a histogram family exposes besides its name.
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def exposed_names() -> set[str]:
    """Every series name the Metrics registry can expose (from its families, data or not)."""
    names: set[str] = set()
    for family in Metrics("n1").registry.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in HISTOGRAM_SERIES)
        else:
            names.add(family.name)
    return names


def documented_names() -> set[str]:
    """Metric names in the first column of docs/operations.md's metric tables."""
    rows = re.findall(r"^\| `(casscade_[a-z0-9_]+)` \|", OPERATIONS.read_text("utf-8"), re.M)
    return set(rows)


def dashboard_expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if isinstance(variable.get("query"), dict):
            exprs.append(variable["query"]["query"])
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text("utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_dashboard_metrics_all_exist() -> None:
    """Every casscade_* series the Grafana dashboard queries is one the agent exports."""
    used = {name for expr in dashboard_expressions() for name in METRIC.findall(expr)}
    assert len(used) >= 15
    assert used - exposed_names() == set()


def test_alert_metrics_all_exist() -> None:
    """Every casscade_* series the alerting rules use is one the agent exports."""
    used = {name for rule in alert_rules() for name in METRIC.findall(rule["expr"])}
    assert len(used) >= 6
    assert used - exposed_names() == set()


@pytest.mark.parametrize(
    "wanted",
    [
        "casscade_destination_lag_behind_source_seconds",  # lag above threshold
        "casscade_destination_up",  # destination down
        "casscade_destination_dead_letters_total",  # DLQ growing
        "casscade_source_cdc_raw_total_bytes",  # cdc_raw above 80 %
        "casscade_destination_events_applied_total",  # no progress
    ],
)
def test_alerts_cover_each_required_condition(wanted: str) -> None:
    """The rules watch lag, destination down, dead letters, cdc_raw usage and progress."""
    assert any(wanted in rule["expr"] for rule in alert_rules())


def test_alert_rules_are_complete() -> None:
    """Each rule has a unique name, a severity and a summary and description."""
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_dashboard_panels_have_queries_and_unique_ids() -> None:
    """Each non-row panel has at least one query; panel ids are unique."""
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]


def test_operations_doc_lists_every_metric() -> None:
    """docs/operations.md documents exactly the metric families the agent exports."""
    families = set()
    for family in Metrics("n1").registry.collect():
        families.add(family.name + "_total" if family.type == "counter" else family.name)
    assert documented_names() == families

"""Metrics in both formats, with the native engine's names, kinds, descriptions and buckets."""

from __future__ import annotations

import re
from typing import Any

COUNTERS = [
    "prisma_client_queries_total",
    "prisma_datasource_queries_total",
    "prisma_pool_connections_closed_total",
    "prisma_pool_connections_opened_total",
]
GAUGES = [
    "prisma_client_queries_active",
    "prisma_client_queries_wait",
    "prisma_pool_connections_busy",
    "prisma_pool_connections_idle",
    "prisma_pool_connections_open",
]
HISTOGRAMS = [
    "prisma_client_queries_duration_histogram_ms",
    "prisma_client_queries_wait_histogram_ms",
    "prisma_datasource_queries_duration_histogram_ms",
]
BUCKETS = [0, 1, 5, 10, 50, 100, 500, 1000, 5000, 50000]


def test_json_metrics_have_every_native_metric(db: Any) -> None:
    before = db.get_metrics()
    db.user.count()
    db.user.find_many(include={"posts": True})
    metrics = db.get_metrics(global_labels={"service": "learning"})
    assert [metric.key for metric in metrics.counters] == COUNTERS
    assert [metric.key for metric in metrics.gauges] == GAUGES
    assert [metric.key for metric in metrics.histograms] == HISTOGRAMS
    counters = {metric.key: metric.value for metric in metrics.counters}
    counted_before = {metric.key: metric.value for metric in before.counters}
    # get_metrics itself is no query; each client call is one, its SQL statements at least one each.
    assert counters["prisma_client_queries_total"] - counted_before["prisma_client_queries_total"] == 2
    assert counters["prisma_datasource_queries_total"] - counted_before["prisma_datasource_queries_total"] >= 2
    gauges = {metric.key: metric.value for metric in metrics.gauges}
    assert gauges["prisma_pool_connections_open"] >= 1
    assert gauges["prisma_pool_connections_open"] == gauges["prisma_pool_connections_idle"]
    for histogram in metrics.histograms:
        assert [bound for bound, _ in histogram.value.buckets] == BUCKETS
        # Each bucket counts its own samples (not cumulative) in the JSON format.
        assert sum(count for _, count in histogram.value.buckets) <= histogram.value.count
        assert histogram.labels == {"service": "learning"}
    assert metrics.counters[0].description == "Total number of Prisma Client queries executed"


def test_prometheus_metrics_have_every_native_metric(db: Any) -> None:
    db.user.count()
    text = db.get_metrics(format="prometheus", global_labels={"service": "learning"})
    kinds = re.findall(r"^# TYPE (\w+) (\w+)$", text, flags=re.MULTILINE)
    assert kinds == [
        *((name, "counter") for name in COUNTERS),
        *((name, "gauge") for name in GAUGES),
        *((name, "histogram") for name in HISTOGRAMS),
    ]
    assert "# HELP prisma_datasource_queries_total Total number of Datasource Queries executed\n" in text
    buckets = re.findall(
        r'^prisma_client_queries_duration_histogram_ms_bucket\{service="learning",le="([^"]+)"\} (\d+)$',
        text,
        flags=re.MULTILINE,
    )
    assert [bound for bound, _ in buckets] == [*map(str, BUCKETS), "+Inf"]
    counts = [int(count) for _, count in buckets]
    assert counts == sorted(counts) and counts[-1] >= 1  # cumulative
    assert text.endswith("\n\n")

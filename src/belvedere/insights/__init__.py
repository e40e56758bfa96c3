"""Insights computed from the metrics: anomalies first (docs/insights.md)."""

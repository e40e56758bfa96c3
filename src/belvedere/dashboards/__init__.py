"""Saved insights, dashboards of widgets, and dashboards shared by public link."""

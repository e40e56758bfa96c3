"""Alerts: rules that watch one metric of a project, their states and history, and what they notify."""

"""Notifications that leave the server: webhook and Slack deliveries, and the careful HTTP they use."""

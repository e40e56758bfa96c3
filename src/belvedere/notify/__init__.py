"""Notifications: channels (email, Slack, webhooks), deliveries through the job queue, in-app messages."""

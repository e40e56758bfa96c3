"""Imports every module that declares metadata tables, so that ``Base.metadata`` knows them all."""

import belvedere.accounts.models
import belvedere.alerts.models
import belvedere.auth.models
import belvedere.dashboards.models
import belvedere.ingest.salts
import belvedere.insights.cohorts.models
import belvedere.insights.feed.models
import belvedere.notify.models
import belvedere.platform.jobs.models
import belvedere.platform.mail  # noqa: F401

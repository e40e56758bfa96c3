"""Where the visit came from: page host/path, UTM tags, referrer domain and marketing channel."""

from __future__ import annotations

from belvedere.accounts.service import ProjectInfo
from belvedere.ingest.enrich.traffic import classify_channel, parse_page, referrer_domain
from belvedere.ingest.validate import ParsedEvent


class SourceStep:
    name = "source"

    def __call__(self, event: ParsedEvent, project: ProjectInfo) -> str | None:
        row = event.row
        page = parse_page(row["url"])
        row["host"] = page.host
        row["path"] = page.path
        row["utm_source"] = page.utm_source
        row["utm_medium"] = page.utm_medium
        row["utm_campaign"] = page.utm_campaign
        row["utm_term"] = page.utm_term
        row["utm_content"] = page.utm_content
        domain = referrer_domain(row["referrer"], page.host)
        row["referrer_domain"] = domain
        if row["url"] is not None or domain is not None:
            row["channel"] = classify_channel(
                referrer_domain=domain,
                utm_source=page.utm_source,
                utm_medium=page.utm_medium,
                utm_campaign=page.utm_campaign,
                click_id=page.click_id,
            )
        return None

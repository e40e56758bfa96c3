"""What each kind of finding recommends: a fixed, documented table (docs/insights.md, "The insight feed"),
never text made up per finding. Keys are (finding kind, direction)."""

from __future__ import annotations

RECOMMENDATIONS: dict[tuple[str, str], str] = {
    ("anomaly", "up"): 'Find where the extra traffic came from (open the day in "Why did it change?"), and'
    " whether it converts like the rest: a mention or campaign to follow up, or bots to filter.",
    ("anomaly", "down"): "Check the tracking first (a release that dropped the script, a consent banner, an"
    " outage), then the sources that fell.",
    ("mover", "up"): "A source or page gaining visitors: see what brought them, and give them a path to"
    " convert.",
    ("mover", "down"): "A source or page losing visitors: look for a lost ranking, a broken link or an ended"
    " campaign.",
    ("funnel", "up"): "A step converts better: find what changed (a release, a source, a page) and keep it.",
    ("funnel", "down"): "A step converts worse: look at what changed on it (a release, a price, a form, an"
    " error rate) and at who stops there (the funnel's people who dropped).",
    ("retention", "up"): "The newest people come back more: find what they met first (a source, an onboarding"
    " change) and give it to everyone.",
    (
        "retention",
        "down",
    ): "The newest people come back less: compare where they came from and what they did on"
    " their first week with the cohorts before.",
    ("cohort", "up"): "More people fit this pattern: open the cohort's people, and act on them while it"
    " matters (win back those at risk, reward power users, nudge the engaged to convert).",
    ("new_referrer", "up"): "A site started sending visitors: see what it says about you, and thank or answer"
    " it while the attention lasts.",
}
SEVERITIES = ("high", "medium", "low")

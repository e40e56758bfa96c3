"""The insight feed: each day, for each project, what changed beyond noise — anomalies of the key metrics,
the sources, pages, places and devices whose visitors moved, new referrers — written as findings with the
number, the query that shows it, a severity and a recommendation from a fixed table (``rules``)."""

"""HTTP adapters over the contexts' use cases: the capture endpoint, the JSON API and the web pages."""

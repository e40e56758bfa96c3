"""HTTP adapters: the capture endpoint, the JSON API and (later) pages."""

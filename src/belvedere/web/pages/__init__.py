"""Server-rendered pages (Jinja2 + HTMX): sign-up and login, the project overview, project creation and the
tracking snippet. The pages call the same services as the JSON API; every form carries a CSRF token."""

"""The agent SPA's static files (served by services/tickets/api/agent_ui.py). A package only so that
the files are installed with the service (package data: *.html, *.js, *.css)."""

"""The incident console: a static page and script served by the alerter, talking to the /api/v1 endpoints."""

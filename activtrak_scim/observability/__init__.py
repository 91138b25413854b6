"""Project-wide plumbing for running the service: request ids, JSON logs, Prometheus metrics and
optional error tracking. Referenced from settings, urls and gunicorn.conf.py; the apps never
import it (they mark what happened on the request, and this package reads it)."""

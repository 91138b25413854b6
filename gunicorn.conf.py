"""gunicorn reads this file when started in the checkout; the settings ship in the package."""

from activtrak_scim.gunicorn_defaults import *  # noqa: F403

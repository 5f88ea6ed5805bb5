"""Your settings: `Settings` in core/config.py inherits every field of ProjectSettings, read from
the environment and `.env` like the template's own (``invoice_prefix`` from INVOICE_PREFIX).

This module is yours: `copier update` creates it when it is missing and never changes it.
"""

from pydantic_settings import BaseSettings


class ProjectSettings(BaseSettings):
    """Add the service's own settings here, e.g. ``invoice_prefix: str = "INV"``."""

"""The Jinja environment for HTML reports, loading templates shipped inside the package."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from .results_view import format_points

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # Student code controls messages, notes and errors; everything is escaped.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["points"] = format_points
    return env


def render(template_name: str, **context) -> str:
    return environment().get_template(template_name).render(**context)

"""Gradescope's results.json, checked against the JSON Schema the kit keeps beside this module."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("gradescope_results.schema.json")


@lru_cache(maxsize=1)
def results_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validation_errors(document: Any) -> list[str]:
    """Every way the document breaks the schema, each with the path of the offending field."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(results_schema(), format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
            for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))]

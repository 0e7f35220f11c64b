"""The student x layer picture of the class report: one cell per submission and layer, coloured by score."""

from __future__ import annotations

from typing import Any

from .results_view import format_points, is_graded, points

CELL_WIDTH = 64
LABEL_WIDTH = 190
HEADER_HEIGHT = 70
LEGEND_HEIGHT = 34
# Rows shrink for big classes so the picture stays about a screen high; labels go below 10 units.
ROW_HEIGHT = 18
MIN_ROW_HEIGHT = 2
TARGET_HEIGHT = 900
LABEL_MIN_ROW = 10
LABEL_CHARS = 26
LEGEND_STEPS = 5


def score_colour(fraction: float) -> str:
    """Red (nothing) through yellow to green (everything): the reading people expect of a grade."""
    fraction = min(max(fraction, 0.0), 1.0)
    if fraction < 0.5:
        r, g, b = 215, round(48 + (190 - 48) * fraction * 2), 39
    else:
        t = (fraction - 0.5) * 2
        r, g, b = round(215 - (215 - 26) * t), round(190 - (190 - 150) * t), round(39 + (65 - 39) * t)
    return f"#{r:02x}{g:02x}{b:02x}"


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def heatmap_geometry(rows: list[dict[str, Any]], layers: list[str]) -> dict[str, Any]:
    """Cells for every row (one per submission, as the students table lists them) and layer.

    A layer the submission's assignment does not have is left blank; a submission that did not
    grade is drawn grey across, with its status, so it is not mistaken for a zero.
    """
    count = len(rows)
    row_height = ROW_HEIGHT if count * ROW_HEIGHT <= TARGET_HEIGHT else max(MIN_ROW_HEIGHT, TARGET_HEIGHT / max(count, 1))
    labelled = row_height >= LABEL_MIN_ROW
    cells = []
    labels = []
    for i, row in enumerate(rows):
        y = HEADER_HEIGHT + i * row_height
        if labelled:
            labels.append({"x": LABEL_WIDTH - 6, "y": round(y + row_height * 0.7, 2), "text": _label(row["label"])})
        for j, layer in enumerate(layers):
            entry = row["layers"].get(layer)
            x = LABEL_WIDTH + j * CELL_WIDTH
            base = {"x": x, "y": round(y, 2), "width": CELL_WIDTH - 1, "height": round(max(row_height - 1, 1), 2),
                    "row": row["label"], "layer": layer}
            if not is_graded(row["submission"]):
                if layer in row["expected"]:
                    cells.append({**base, "fill": "#b9bcc2", "kind": "ungraded",
                                  "title": f"{row['label']}: {row['submission'].get('status')}"})
                continue
            if entry is None:
                continue
            maximum = points(entry.get("max_score"))
            fraction = points(entry.get("score")) / maximum if maximum else 0.0
            cells.append({**base, "fill": score_colour(fraction), "kind": "score", "fraction": round(fraction, 4),
                          "title": f"{row['label']}, {layer}: {format_points(entry.get('score')) or '0'} / "
                                   f"{format_points(entry.get('max_score'))}"})
    plot_bottom = HEADER_HEIGHT + count * row_height
    legend = [{"x": LABEL_WIDTH + k * CELL_WIDTH, "fill": score_colour(k / (LEGEND_STEPS - 1)),
               "text": f"{round(100 * k / (LEGEND_STEPS - 1))}%"} for k in range(LEGEND_STEPS)]
    return {
        "width": LABEL_WIDTH + max(len(layers), LEGEND_STEPS + 1) * CELL_WIDTH + 10,
        "height": round(plot_bottom + LEGEND_HEIGHT + 10, 2),
        "columns": [{"x": LABEL_WIDTH + j * CELL_WIDTH + CELL_WIDTH / 2, "text": layer} for j, layer in enumerate(layers)],
        "header_y": HEADER_HEIGHT - 6,
        "labels": labels,
        "cells": cells,
        "legend": legend,
        "legend_y": round(plot_bottom + 10, 2),
        "legend_cell": CELL_WIDTH - 1,
    }

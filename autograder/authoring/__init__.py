"""Notebook authoring: student and solution notebooks generated from the reference layers."""

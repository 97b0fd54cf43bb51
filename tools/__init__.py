"""Authoring tools for the course's repository (never shipped in the wheel): notebooks, grading."""

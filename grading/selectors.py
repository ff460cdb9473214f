"""Reads of the classification and grading scheme (G1, G2): the same for every actor."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Category, Grade


def top_categories() -> QuerySet:
    """The categories at the top of the scheme (their children are reached through them)."""
    return Category.objects.filter(parent=None)


def grades() -> QuerySet:
    return Grade.objects.all()

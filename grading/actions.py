"""The audit actions of classification and grading (SEC1). None yet: grading holds the scheme, and the
acts on grades are the catalog's (``catalog.suggest_grades``, ``catalog.decide_suggestion``, a re-grade
is published with its entry). A service added here declares its action in this dictionary."""

from audit.actions import declare

declare({})

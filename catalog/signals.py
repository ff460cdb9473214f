from django.dispatch import Signal

# Sent inside the publishing transaction when published item grades change (G1: a re-grade reaches
# every grant). kwargs: resource, changes=[{"column", "before", "after"}], actor.
grades_changed = Signal()

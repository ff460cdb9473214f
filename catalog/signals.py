from django.dispatch import Signal

# Sent inside the publishing transaction when published item grades change (G1: a re-grade reaches
# every grant). kwargs: resource, changes=[{"column", "before", "after"}], actor.
grades_changed = Signal()

# Sent inside the publishing transaction when a published entry's share type changes (S2: a change
# towards conditional or not shared takes effect only after review, and existing grants are told).
# kwargs: resource, before, after, actor.
share_type_changed = Signal()

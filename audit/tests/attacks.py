"""What someone who owns the database (the data directory) does to the chain, with the project's own hashing."""

from django.db import connection

from audit import chain, guards
from audit.models import Event


def as_attacker(*statements):
    """Drop the guard triggers and run the statements, as a database owner can."""
    guards.remove(connection)
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def nth_seq(n):
    return Event.objects.order_by("seq").values_list("seq", flat=True)[n]


def rewrite_consistently(from_seq, actor_name="mallory"):
    """Edit one event and recompute every later hash and the head: the chain alone still walks."""
    rows = list(Event.objects.filter(seq__gte=from_seq).order_by("seq").values())
    prev = Event.objects.get(seq=from_seq - 1).hash
    statements = []
    for i, row in enumerate(rows):
        if i == 0:
            row["actor_name"] = actor_name
        row["prev_hash"] = prev
        row["hash"] = prev = chain.event_hash(row)
        statements.append(("UPDATE audit_event SET actor_name = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                           [row["actor_name"], row["prev_hash"], row["hash"], row["seq"]]))
    statements.append(("UPDATE audit_chainhead SET hash = %s WHERE id = 1", [prev]))
    as_attacker(*statements)


def cut_tail(keep_seq):
    """Delete every event after ``keep_seq`` and rewrite the head to point at it."""
    as_attacker(("DELETE FROM audit_event WHERE seq > %s", [keep_seq]),
                ("UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1", [keep_seq, Event.objects.get(seq=keep_seq).hash]))

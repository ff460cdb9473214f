"""Reference data every installation has (the migrations create it; this restores it idempotently,
e.g. in a test database that a live-server test flushed)."""


def reference_data() -> None:
    from audit.models import ChainHead
    from core.workdays import seed_from_package
    from grading.scheme import seed as seed_scheme

    ChainHead.objects.get_or_create(pk=1)
    seed_from_package()
    seed_scheme()

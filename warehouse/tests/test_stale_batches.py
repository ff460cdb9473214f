"""Batches left in "checking" by a killed process (issue 12 item 10; A3, A4): the worker's scheduled job
refuses them, with the reason and audited, once they have not moved for the stale interval — never a batch
that is still being checked, so a worker starting up cannot end another worker's running ingest."""

import csv
import datetime as dt
import io
import random

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from foundation.actor import system_actor
from gongshu.demo import _synthetic_rows
from gongshu.jobs import SCHEDULE
from warehouse import services
from warehouse.models import Batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def insurance():
    return Resource.objects.get(name="社会保险参保信息")  # delivered by 人社局, whose data officer uploads here


def _delivery(resource: Resource, rows: int = 200) -> bytes:
    header, body = _synthetic_rows(resource, random.Random(3), rows)
    out = io.StringIO()
    csv.writer(out).writerows([header] + body)
    return out.getvalue().encode()


def _claimed(city, resource: Resource, *, minutes_ago: int) -> Batch:
    """A web upload a worker claimed (queued -> checking, as run_queued_uploads does), last moved ``minutes_ago``."""
    data = _delivery(resource)
    batch = services.queue_upload(city.actor("cdo_human_resources"), resource, [data], filename="参保.csv", size=len(data))
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.CHECKING, stage="reading",
                                             updated_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return Batch.objects.get(pk=batch.pk)


def test_a_batch_left_checking_by_a_killed_process_is_refused_after_the_stale_interval_A3(city, insurance, settings):
    """A4: the interrupted batch is closed (nothing was published); its provider sees why; the chain has it."""
    settings.GONGSHU_BATCH_STALE_MINUTES = 60
    killed = _claimed(city, insurance, minutes_ago=61)
    running = _claimed(city, insurance, minutes_ago=59)  # within the interval: another worker may be on it
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    job = dict(SCHEDULE)["fail_stale_batches"]

    assert job() == "1 interrupted batch(es) refused"
    killed.refresh_from_db()
    assert killed.status == "refused" and "中断" in killed.message and killed.finished_at is not None
    assert not (services.uploads_root() / killed.upload).exists()  # the file it was reading is not kept
    event = Event.objects.get(seq__gt=head, action="warehouse.refuse_batch", object_id=str(killed.pk))
    assert event.outcome == "refused" and "中断" in event.summary
    assert Batch.objects.get(pk=running.pk).status == "checking"
    assert (services.uploads_root() / running.upload / "upload").exists()
    assert job() == "0 interrupted batch(es) refused"  # once


def test_an_ingest_that_is_still_running_moves_its_batch_and_is_not_refused_A3(city, insurance):
    """Each stage of an ingest moves its batch: the job, run while the batch is being checked (as a second
    worker starting up would run it), leaves it alone, and the batch is published."""
    batch = _claimed(city, insurance, minutes_ago=120)
    refused_meanwhile = []

    def progress(stage):
        if stage == "checking":
            refused_meanwhile.extend(services.fail_stale_batches(system_actor("worker")))

    services.ingest_file(city.actor("cdo_human_resources"), insurance, services.uploads_root() / batch.upload / "upload",
                         filename=batch.filename, batch=batch, progress=progress)
    assert refused_meanwhile == []
    assert Batch.objects.get(pk=batch.pk).status == "published"

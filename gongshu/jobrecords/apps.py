from django.apps import AppConfig


class JobRecordsConfig(AppConfig):
    name = "gongshu.jobrecords"
    label = "jobrecords"
    verbose_name = "后台作业"

    def ready(self):
        from django.db.models.signals import post_save

        from gongshu import jobs
        from warehouse.models import Batch

        from . import permissions  # noqa: F401  (declared)

        # a web upload queued (A1) enqueues its job in the same transaction: no queued batch without its job
        post_save.connect(jobs.upload_queued, sender=Batch, dispatch_uid="gongshu.jobs.upload_queued")

"""Grants listen to the catalog: a re-grade changes what every grant's calls see (masking is applied per
call from the grade in force), and a tightened share type reaches every holder (S2, G1)."""

from django.dispatch import receiver

from audit.services import record
from catalog.models import Resource
from catalog.signals import grades_changed, share_type_changed
from core.services import notify

from .models import Grant


def _live(resource):
    return Grant.objects.filter(resource=resource, status__in=(Grant.Status.ACTIVE, Grant.Status.SUSPENDED))


@receiver(grades_changed)
def tell_holders_of_regrade(sender, resource, changes, actor, **kwargs):
    columns = "、".join(c["column"] for c in changes)
    for grant in _live(resource).select_related("holder"):
        notify(organisation=grant.holder, kind="share", link=f"/share/grants/{grant.ref}/",
               message=f"“{resource.name}”的数据项 {columns} 已重新分级，授权 {grant.ref} 的脱敏方式随之调整")


@receiver(share_type_changed)
def apply_share_type_change(sender, resource, before, after, actor, **kwargs):
    """Reviewed tightening reaches existing grants: not shared ends them; conditional is reported so the
    holder knows the conditions now apply (its grant stays within what was approved)."""
    label = Resource.ShareType(after).label
    for grant in _live(resource).select_related("holder"):
        if after == Resource.ShareType.NOT_SHARED:
            grant.status, grant.status_reason = Grant.Status.TERMINATED, f"目录调整为{label}（经审核）"
            grant.save(update_fields=["status", "status_reason", "updated_at"])
            record(actor, "sharing.terminate_grant", grant, before={"status": "active"}, after={"status": grant.status},
                   detail={"reason": grant.status_reason})
        notify(organisation=grant.holder, kind="share", link=f"/share/grants/{grant.ref}/",
               message=f"“{resource.name}”的共享类型已由{Resource.ShareType(before).label}调整为{label}"
                       + ("，授权已终止" if after == Resource.ShareType.NOT_SHARED else ""))

"""Grants listen to the catalog: a re-grade changes what every grant's calls see (masking is applied per
call from the grade in force, export per delivery), an item re-graded to need the provider's approval
leaves the grants the provider never approved, and a tightened share type reaches every holder (S2, G1)."""

from django.dispatch import receiver

from access import services as entitlements

from catalog.models import Resource
from catalog.signals import grades_changed, share_type_changed
from core.services import notify
from grading.models import Grade

from .models import Grant


def _live(resource):
    return Grant.objects.filter(resource=resource, status__in=(Grant.Status.ACTIVE, Grant.Status.SUSPENDED))


@receiver(grades_changed)
def tell_holders_of_regrade(sender, resource, changes, actor, **kwargs):
    columns = "、".join(c["column"] for c in changes)
    for grant in _live(resource).select_related("holder"):
        notify(organisation=grant.holder, kind="share", link=Grant.LINK.format(ref=grant.ref),
               message=f"“{resource.name}”的数据项 {columns} 已重新分级，授权 {grant.ref} 的脱敏和导出规则随之调整")


@receiver(grades_changed)
def withhold_items_needing_approval(sender, resource, changes, actor, **kwargs):
    """G1: an item re-graded to a grade used only with the provider's approval (important data) leaves every
    grant on a share request the provider did not approve (one the bureau approved alone); the holder may
    apply again for it. Grants passed on with the provider's consent, and backflow (SYS Art. 30), keep it."""
    from .services import provider_approved

    needing = set(Grade.objects.filter(code__in={c["after"] for c in changes}, access=Grade.Access.GRANT_WITH_APPROVAL)
                  .values_list("code", flat=True))
    columns = {c["column"] for c in changes if c["after"] in needing}
    if not columns:
        return
    for grant in _live(resource).filter(origin=Grant.Kind.REQUEST).select_related("holder", "request__case"):
        withheld = [c for c in grant.items if c in columns]
        request = getattr(grant, "request", None)  # the share request that gave it (a reverse one-to-one)
        if not withheld or provider_approved(request.case if request else None):
            continue
        reason = f"数据项 {'、'.join(withheld)} 已调整为须经数据提供部门审批的分级"
        ends = set(grant.items) <= columns  # nothing left: the grant ends
        entitlements.narrow(actor, grant, withdrawn=withheld, reason=reason, action="sharing.withhold_items",
                            detail={"rule": "G1 grant_with_approval"}, link=Grant.LINK,
                            notice=f"授权 {grant.ref}：{reason}，已从授权中移出" + ("，授权已终止" if ends else "") + "；如仍需要，请重新申请")


@receiver(share_type_changed)
def apply_share_type_change(sender, resource, before, after, actor, **kwargs):
    """Reviewed tightening reaches existing grants: not shared ends them; conditional is reported so the
    holder knows the conditions now apply (its grant stays within what was approved)."""
    label = Resource.ShareType(after).label
    message = f"“{resource.name}”的共享类型已由{Resource.ShareType(before).label}调整为{label}"
    for grant in _live(resource).select_related("holder"):
        if after == Resource.ShareType.NOT_SHARED:
            entitlements.change(actor, grant, Grant.Status.TERMINATED, reason=f"目录调整为{label}（经审核）",
                                action="sharing.terminate_grant", link=Grant.LINK, notice=f"{message}，授权已终止")
        else:
            notify(organisation=grant.holder, kind="share", link=Grant.LINK.format(ref=grant.ref), message=message)

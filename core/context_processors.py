from foundation import rulebook
from foundation.roles import Role

from .models import Membership, Notification


def acting(request):
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"actor": None}
    memberships = (
        Membership.objects.filter(user=actor.user).select_related("organisation").order_by("organisation__name")
    )
    organisations = {m.organisation_id: m.organisation for m in memberships}
    unread = Notification.objects.filter(organisation=actor.organisation, read_at=None).count()
    validity = rulebook.validity() if Role.BUREAU_ADMIN in actor.roles else None  # CFG1: warn the bureau's admins
    return {"actor": actor, "acting_organisations": list(organisations.values()), "unread_notifications": unread,
            "rulebook_validity": validity if validity and validity.warning else None}

"""The audit actions of the access path. Every entitlement today is a share grant, audited under sharing's
names (sharing.grant, sharing.call, sharing.suspend_grant…); what belongs to every kind is declared here."""

from audit.actions import declare

declare({
    "access.request_revocation": "申请撤销授权",
})

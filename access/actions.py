"""The audit actions of the access path. Today every entitlement is a share grant, audited under sharing's
names (sharing.grant, sharing.call, sharing.suspend_grant…); later kinds declare theirs here."""

from audit.actions import declare

declare({})

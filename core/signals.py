"""Sign-ins, failures and lockouts are actions too: each lands in the audit chain."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from foundation.actor import Actor, system_actor
from foundation.errors import NotAuthenticated


def _actor(user=None, channel="web") -> Actor:
    if user is None:
        return system_actor(channel)
    return Actor(user=user, organisation=None, roles=frozenset(), channel=channel)


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    from audit.services import record

    record(_actor(user), "core.login", user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    from audit.services import record

    if user is not None:
        record(_actor(user), "core.logout", user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    from audit.services import record_refusal

    username = (credentials or {}).get("username", "")
    record_refusal(system_actor("web"), "core.login", NotAuthenticated("用户名或密码错误", code="bad_credentials"),
                   ("core.user", username))


@receiver(user_locked_out)
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    from audit.services import record_refusal

    record_refusal(system_actor("web"), "core.login", NotAuthenticated("连续登录失败，账户已锁定", code="locked_out"),
                   ("core.user", username or ""), detail={"ip_address": ip_address})

"""Blinker signals for the moments users care about.

Connect a receiver the Flask way::

    from flask_okta_client import signals

    @signals.user_logged_in.connect_via(app)
    def remember(sender, user, **extra):
        audit.log("login", user.sub)
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent with ``user`` (a :class:`~flask_okta_client.web.user.User`) after a sign-in succeeds.
user_logged_in = _signals.signal("okta-user-logged-in")
#: Sent with ``user`` just before the session is cleared on sign-out.
user_logged_out = _signals.signal("okta-user-logged-out")
#: Sent with ``error`` (an :class:`~flask_okta_client.errors.OktaError`) when a callback fails.
login_failed = _signals.signal("okta-login-failed")
#: Sent with ``user`` after its tokens were refreshed before a view.
token_refreshed = _signals.signal("okta-token-refreshed")
#: Sent with ``error`` when a refresh was refused and the session ended.
refresh_failed = _signals.signal("okta-refresh-failed")
#: Sent with ``user`` and ``audience`` after a token exchange for a downstream API.
token_exchanged = _signals.signal("okta-token-exchanged")
#: Sent with ``sub`` and ``sid`` (either may be ``None``) after a back-channel logout ended the
#: sign-ins they name.
backchannel_logout = _signals.signal("okta-backchannel-logout")
#: Sent for each new event of an Okta event hook delivery, with the event type as sender and
#: ``app`` and ``event`` (the event object) as arguments: ``okta_event.connect_via("user.lifecycle.create")``.
okta_event = _signals.signal("okta-event")

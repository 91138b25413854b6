"""The one place a web page gets its account: the signed-in admin's membership."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from directory.models import AccountMember


def account_admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, and an admin of an account; sets ``request.account``. Pages are never cached."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member = AccountMember.objects.select_related("account").filter(user=request.user).first()
        if member is None:
            return render(request, "integrations/no_account.html", status=403)
        request.account = member.account
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapper))

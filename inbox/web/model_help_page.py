"""The "help the model" page for leads and admins: the open items of their teams the model is least
sure of (one per cluster), each with the model's label and how sure it is in words; one key or
button confirms the label or gives the right one (WorkService.set_label: a correction like a
transfer's; a label of another team moves the item)."""
from __future__ import annotations

from aiohttp import web

from inbox.errors import Conflict, Forbidden, Invalid, NotFound
from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.error_text import translate_error
from inbox.web.inputs import ASCII_DIGITS
from inbox.web.keys import SERVICES, WORK
from inbox.web.model_help_api import REASON
from inbox.web.names import label_name
from inbox.web.render import flash, form, redirect, render
from inbox.work.model_help import HELP_ROLES, uncertain_items

__all__ = ["routes", "sureness"]

routes = web.RouteTableDef()
_ = i18n.gettext
N_ = i18n.N_

#: (lowest margin of the band, its words), most sure first
_BANDS = ((0.5, N_("fairly sure")), (0.2, N_("unsure")), (0.0, N_("guessing")))


def sureness(margin: float) -> str:
    """How sure the model is, in words in the reader's language, from its top-2 margin."""
    for low, words in _BANDS:
        if margin >= low:
            return _(words)
    return _(_BANDS[-1][1])


@routes.get("/help-the-model")
async def help_page(request: web.Request) -> web.Response:
    user = require_user(request)
    if user.role not in HELP_ROLES:
        raise Forbidden("only leads and admins label items for the model")
    svc = request.app[SERVICES]
    rows = await uncertain_items(svc.engine, user, 20)
    labels = list(svc.settings.routing.label_to_team)[:9]
    for r in rows:
        r["sure"] = sureness(r["margin"])
        r["alternatives"] = [(i + 1, lab) for i, lab in enumerate(labels) if lab != r["label"]]
    return await render(request, "model_help.html", {"rows": rows, "labels": labels, "page": "help_model",
                                                     "label_name": label_name})


@routes.post("/help-the-model/{id}")
async def help_answer(request: web.Request) -> web.Response:
    user = require_user(request)
    raw = request.match_info["id"]
    if not ASCII_DIGITS.fullmatch(raw) or not 0 < int(raw) < 2**63:
        raise NotFound("no such item")
    data = await form(request)
    label = data.get("label", "").strip()
    try:
        await request.app[WORK].set_label(user, int(raw), label, REASON)
    except (Invalid, Conflict) as e:
        await flash(request, translate_error(e.detail), "error")
        raise redirect("/help-the-model") from None
    await flash(request, _("Thank you: the model learns %(label)s for this item.") % {"label": label_name(label)},
                "ok")
    raise redirect("/help-the-model")

"""/views: the work views (mine, a team's open items, unassigned, claimed by others with who holds
them, waiting, resolved with reopen, triage), sorted by priority, age or SLA due; only items the
user may see."""
from __future__ import annotations

from aiohttp import web

from inbox.storage.engine import read_conn
from inbox.storage.repo import views
from inbox.web import i18n
from inbox.web.authn import require_user
from inbox.web.bulk_pages import context as bulk_context
from inbox.web.keys import SERVICES, WORK
from inbox.web.render import render
from inbox.web.saved_views_pages import context as saved_context
from inbox.work.item_actions import visible_teams
from inbox.work.similar import similar_open

__all__ = ["routes"]

routes = web.RouteTableDef()
N_ = i18n.N_
TITLES = {"mine": N_("Mine"), "open": N_("Team open"), "unassigned": N_("Unassigned"),
          "others": N_("Claimed by others"), "waiting": N_("Waiting"), "resolved": N_("Resolved"),
          "triage": N_("Triage")}
SORT_TITLES = {"priority": N_("Priority"), "age": N_("Oldest first"), "due": N_("SLA due")}
PAGE = 50


@routes.get("/views")
async def views_page(request: web.Request) -> web.Response:
    user = require_user(request)
    svc = request.app[SERVICES]
    view = request.query.get("view", "mine")
    sort = request.query.get("sort", "priority")
    team = request.query.get("team") or None
    teams = [t for t in svc.settings.teams if user.is_admin or t.name in user.teams]
    if view not in views.VIEWS or sort not in views.SORTS or (team is not None and team not in {t.name for t in teams}):
        raise web.HTTPNotFound()
    async with read_conn(svc.engine) as conn:
        rows = await views.view_items(view, conn=conn, user_id=user.id, teams=visible_teams(user),
                                      now=svc.clock.now(), triage_team=svc.settings.routing.triage_team,
                                      team=team, sort=sort, limit=PAGE)
    similar = await similar_open(request.app[WORK], [r.id for r in rows]) if view != "resolved" else {}
    saved = await saved_context(request, user, "views", {"view": view, "sort": sort, "team": team or ""})
    return await render(request, "views.html", {"similar": similar, **saved, **await bulk_context(request, user),
        "back_url": request.path_qs,
        "page": "views", "view": view, "sort": sort, "team": team or "", "teams": teams, "rows": rows,
        "titles": {k: i18n.gettext(v) for k, v in TITLES.items()},
        "sort_titles": {k: i18n.gettext(v) for k, v in SORT_TITLES.items()}})

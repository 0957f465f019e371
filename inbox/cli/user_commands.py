"""`users add|list|token|revoke|deactivate`: people and their API tokens."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from inbox.cli.common import Handler, emit, open_services, require_schema
from inbox.errors import InputError
from inbox.storage.engine import snapshot_reader


def register(sub: Any) -> dict[str, Handler]:
    """Adds this group's commands to the parser's subcommands; returns their handlers."""
    u = sub.add_parser("users", help="users and API tokens")
    us = u.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    a = us.add_parser("add", help="create or update a user")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=["agent", "lead", "manager", "admin"])
    a.add_argument("--team", action="append", default=[], help="team membership (repeatable)")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.add_argument("--locale", choices=["en", "it"])
    a.add_argument("--capacity", type=int, default=10)
    us.add_parser("list", help="list users")
    tk = us.add_parser("token", help="print a new API token for the user")
    tk.add_argument("name")
    rv = us.add_parser("revoke", help="revoke all API tokens of the user")
    rv.add_argument("name")
    dv = us.add_parser("deactivate", help="deactivate the user and revoke their tokens (`users add` reactivates)")
    dv.add_argument("name")
    return {"users": cmd_users}


async def cmd_users(args: argparse.Namespace) -> int:
    from inbox.domain import credentials
    from inbox.ops import audit
    from inbox.storage.repo import accounts
    svc = await open_services(args)
    try:
        await require_schema(svc)
        c = args.users_command
        now = svc.clock.now()
        if c == "add":
            known = {t.name for t in svc.settings.teams}
            bad = [t for t in args.team if t not in known]
            if bad:
                raise InputError(f"--team: unknown team {bad[0]!r}; teams are {', '.join(sorted(known))}")
            pw_hash = None
            if args.password_stdin:
                pw = sys.stdin.readline().rstrip("\r\n")
                pw_hash = credentials.hash_password(_checked_password(pw, args.name))
            async with svc.engine.begin() as conn:
                before = await accounts.user_state(args.name, conn=conn)
                added = await accounts.add_user(args.name, args.role, args.team, pw_hash, conn=conn, now=now,
                                                locale=args.locale, capacity=args.capacity)
                after = {"role": added.role, "teams": sorted(added.teams), "active": True}
                await audit.record("user_added" if before is None else "user_changed", "cli",
                                   {"user": added.name, "from": before, "to": after,
                                    "password_set": pw_hash is not None}, conn=conn, now=now)
            emit({"id": added.id, "name": added.name, "role": added.role, "teams": list(added.teams),
                  "password": pw_hash is not None,
                  **({"reactivated": True} if before is not None and not before["active"] else {})})
        elif c == "list":
            async with snapshot_reader(svc.engine).connect() as conn:
                for u in await accounts.list_users(conn=conn):
                    emit({"id": u.id, "name": u.name, "role": u.role, "teams": list(u.teams)})
        elif c == "token":
            async with svc.engine.begin() as conn:
                found = await accounts.get_user(args.name, conn=conn)
                if found is None:
                    raise InputError(f"no user {args.name!r}")
                token = credentials.new_token()
                await accounts.add_token(found.id, credentials.token_hash(token), conn=conn, now=now)
                await audit.record("token_created", "cli", {"user": found.name}, conn=conn, now=now)
            print(token)
        elif c == "deactivate":
            async with svc.engine.begin() as conn:
                found = await accounts.get_user(args.name, conn=conn)
                if found is None:
                    raise InputError(f"no active user {args.name!r}")
                await accounts.set_user_fields(found.id, {"active": False}, conn=conn, now=now)
                n = await accounts.revoke_tokens(found.id, conn=conn, now=now)
                await audit.record("user_deactivated", "cli", {"user": found.name}, conn=conn, now=now)
            emit({"name": args.name, "active": False, "revoked": n})
        elif c == "revoke":
            async with svc.engine.begin() as conn:
                found = await accounts.get_user(args.name, conn=conn)
                if found is None:
                    raise InputError(f"no user {args.name!r}")
                n = await accounts.revoke_tokens(found.id, conn=conn, now=now)
                await audit.record("tokens_revoked", "cli", {"user": found.name, "revoked": n}, conn=conn, now=now)
            emit({"name": args.name, "revoked": n})
    finally:
        await svc.close()
    return 0


def _checked_password(pw: str, name: str) -> str:
    """``pw`` when it meets the policy. A password containing the user name is only warned about
    here: the operator sets an initial password (the web admin pages refuse it)."""
    from inbox.domain import password_policy
    found = password_policy.problems(pw, user_name=name)
    hard = [p.message for p in found if p.rule != "name"]
    if hard:
        raise password_policy.PasswordRejected("; ".join(hard))
    for p in found:
        print(f"warning: {p.message}; ask {name} to choose another", file=sys.stderr)
    return pw

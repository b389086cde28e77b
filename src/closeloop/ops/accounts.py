"""Web accounts in the operational store: users, server-side sessions, API tokens, the audit log.

Why here: the web app and the ``closeloop users|tokens|audit`` commands share one store, on
SQLite by default or PostgreSQL by URL, through the same SQLAlchemy engine as the lead queue.
Passwords are Argon2id hashes (pwdlib); session ids and API tokens are random 256-bit values
of which only the SHA-256 is stored, so a copy of the store opens no session. The audit log
is append-only: this module inserts rows and never updates or deletes one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from closeloop.errors import InputError
from closeloop.ops import schema
from closeloop.ops.store import OpsStore, utc

ROLES = ("admin", "analyst", "vendor_manager", "supervisor", "agent")
#: Roles that see every center (the client's own people).
CLIENT_ROLES = frozenset({"admin", "analyst"})

#: Failed logins in a row before an account is locked, and for how long.
LOCKOUT_AFTER = 5
LOCKOUT_FOR = timedelta(minutes=15)
MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    """An account as the web app needs it: who, which role, which scope."""

    id: int
    name: str
    role: str
    vendor: str | None
    center_id: str | None
    agent_id: str | None
    disabled: bool = False
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Session:
    """A live session: its user and the CSRF token bound to it."""

    user: User
    csrf: str
    created_at: datetime
    last_seen_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _hasher() -> Any:
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


def check_scope(role: str, vendor: str | None, center: str | None, agent_id: str | None) -> None:
    """InputError unless the role has the scope fields it needs (and no others that would widen it)."""
    if role not in ROLES:
        raise InputError(f"role {role!r}: one of {', '.join(ROLES)}")
    if role == "vendor_manager" and not vendor:
        raise InputError("a vendor_manager needs --vendor (the vendor whose centers they see)")
    if role == "supervisor" and not center:
        raise InputError("a supervisor needs --center (the center they see)")
    if role == "agent" and not agent_id:
        raise InputError("an agent needs --agent-id (the agent whose numbers they see)")
    if role in CLIENT_ROLES and (vendor or center or agent_id):
        raise InputError(f"a {role} sees every center: drop --vendor/--center/--agent-id")


def check_password(password: str) -> None:
    """InputError for a password too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password too short: at least {MIN_PASSWORD} characters")


class Accounts:
    """Users, sessions, tokens and audit rows of one operational store."""

    def __init__(self, store: OpsStore) -> None:
        self.store = store
        self.engine = store.engine
        self._ph = _hasher()
        # A hash to verify against when the name is unknown: the answer takes as long either way.
        self._dummy = self._ph.hash(secrets.token_hex(16))

    # -- users -------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, vendor: str | None = None, center: str | None = None,
                 agent_id: str | None = None, actor: str = "cli") -> User:
        """Create an account; InputError if the name is taken or the scope does not fit the role."""
        check_scope(role, vendor, center, agent_id)
        check_password(password)
        if not name or len(name) > 100:
            raise InputError("user name: 1 to 100 characters")
        row = {"name": name, "role": role, "vendor": vendor, "center_id": center, "agent_id": agent_id,
               "password_hash": self._ph.hash(password), "disabled": False, "failed_logins": 0,
               "created_at": datetime.now(UTC)}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(schema.web_users).values(row))
        except IntegrityError:
            raise InputError(f"user {name!r} exists: pick another name or `closeloop users reset {name}`") from None
        self.audit(actor, "user_add", name, detail={"role": role, "vendor": vendor, "center": center,
                                                     "agent_id": agent_id})
        return self.user(name)

    def user(self, name: str) -> User:
        """The account called ``name``; InputError if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.web_users).where(schema.web_users.c.name == name)).mappings().first()
        if row is None:
            raise InputError(f"no user {name!r} (see `closeloop users list`)")
        return _user(row)

    def users(self) -> list[User]:
        """Every account, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.web_users).order_by(schema.web_users.c.name)).mappings().all()
        return [_user(r) for r in rows]

    def set_disabled(self, name: str, disabled: bool = True, actor: str = "cli") -> None:
        """Disable (or enable) an account; disabling also revokes its sessions."""
        user = self.user(name)
        with self.engine.begin() as conn:
            conn.execute(update(schema.web_users).where(schema.web_users.c.id == user.id).values(disabled=disabled))
        if disabled:
            self.revoke_sessions(user.id)
        self.audit(actor, "user_disable" if disabled else "user_enable", name)

    def reset_password(self, name: str, password: str, actor: str = "cli") -> None:
        """Set a new password, clear the lockout and end every session of the account."""
        check_password(password)
        user = self.user(name)
        with self.engine.begin() as conn:
            conn.execute(update(schema.web_users).where(schema.web_users.c.id == user.id).values(
                password_hash=self._ph.hash(password), failed_logins=0, locked_until=None))
        self.revoke_sessions(user.id)
        self.audit(actor, "user_reset", name)

    def authenticate(self, name: str, password: str, ip: str | None = None,
                     now: datetime | None = None) -> User | None:
        """The user if the password is right and the account usable; None otherwise (audited).

        Why a lockout per account: after :data:`LOCKOUT_AFTER` failures in a row the account
        refuses even the right password for :data:`LOCKOUT_FOR`, so guessing online is slow
        whatever the number of source addresses.
        """
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.web_users).where(schema.web_users.c.name == name)).mappings().first()
        if row is None:
            self._ph.verify(password, self._dummy)
            self.audit(name[:100], "login_failed", name[:100], ip, {"why": "unknown user"})
            return None
        user = _user(row)
        locked = user.locked_until is not None and user.locked_until > now
        ok = self._ph.verify(password, row["password_hash"]) and not locked and not user.disabled
        if ok:
            with self.engine.begin() as conn:
                conn.execute(update(schema.web_users).where(schema.web_users.c.id == user.id).values(
                    failed_logins=0, locked_until=None))
            self.audit(name, "login", name, ip)
            return user
        why = "disabled" if user.disabled else "locked" if locked else "wrong password"
        if not locked and not user.disabled:
            fails = int(row["failed_logins"] or 0) + 1
            values: dict[str, Any] = {"failed_logins": fails}
            if fails >= LOCKOUT_AFTER:
                values = {"failed_logins": 0, "locked_until": now + LOCKOUT_FOR}
                why = "wrong password; account locked"
            with self.engine.begin() as conn:
                conn.execute(update(schema.web_users).where(schema.web_users.c.id == user.id).values(values))
        self.audit(name, "login_failed", name, ip, {"why": why})
        return None

    # -- sessions ----------------------------------------------------------------------

    def open_session(self, user: User, now: datetime | None = None) -> tuple[str, str]:
        """A new session for ``user``: (session id for the cookie, CSRF token). Only the id's hash is kept."""
        now = now or datetime.now(UTC)
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(schema.web_sessions).values(id_hash=_digest(sid), user_id=user.id, csrf=csrf,
                                                            created_at=now, last_seen_at=now))
        return sid, csrf

    def session(self, sid: str, idle: timedelta, now: datetime | None = None) -> Session | None:
        """The live session behind a cookie value, touched; None if unknown, revoked, idle too long or disabled."""
        now = now or datetime.now(UTC)
        s, u = schema.web_sessions, schema.web_users
        with self.engine.connect() as conn:
            row = conn.execute(select(s, u).join(u, u.c.id == s.c.user_id).where(
                s.c.id_hash == _digest(sid))).mappings().first()
        if row is None or row["revoked_at"] is not None or row["disabled"]:
            return None
        last = utc(row["last_seen_at"])
        if last is None or now - last > idle:
            self.revoke_session(sid, now)
            return None
        if now - last > timedelta(seconds=30):  # touch at most twice a minute: reads stay reads
            with self.engine.begin() as conn:
                conn.execute(update(s).where(s.c.id_hash == _digest(sid)).values(last_seen_at=now))
        user = User(row["user_id"], row["name"], row["role"], row["vendor"], row["center_id"], row["agent_id"])
        created = utc(row["created_at"])
        return Session(user, row["csrf"], created if created is not None else last, last)

    def revoke_session(self, sid: str, now: datetime | None = None) -> None:
        """End one session (logout)."""
        s = schema.web_sessions
        with self.engine.begin() as conn:
            conn.execute(update(s).where(and_(s.c.id_hash == _digest(sid), s.c.revoked_at.is_(None))).values(
                revoked_at=now or datetime.now(UTC)))

    def revoke_sessions(self, user_id: int) -> int:
        """End every session of a user; returns how many were live."""
        s = schema.web_sessions
        with self.engine.begin() as conn:
            got = conn.execute(update(s).where(and_(s.c.user_id == user_id, s.c.revoked_at.is_(None))).values(
                revoked_at=datetime.now(UTC)))
        return got.rowcount or 0

    # -- API tokens --------------------------------------------------------------------

    def create_token(self, name: str, vendor: str | None, actor: str = "cli") -> str:
        """A new API token for ``vendor`` (None: the client, every center). Returned once, stored hashed."""
        token = "clt_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(schema.web_tokens).values(name=name, vendor=vendor, token_hash=_digest(token),
                                                          prefix=token[:10], created_at=datetime.now(UTC)))
        self.audit(actor, "token_create", name, detail={"vendor": vendor})
        return token

    def token(self, token: str) -> dict[str, Any] | None:
        """The live token's row (name, vendor), or None."""
        t = schema.web_tokens
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.token_hash == _digest(token))).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        return dict(row)

    def tokens(self) -> list[dict[str, Any]]:
        """Every token (never its value): id, name, vendor, prefix, created, revoked."""
        t = schema.web_tokens
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.id, t.c.name, t.c.vendor, t.c.prefix, t.c.created_at,
                                       t.c.revoked_at).order_by(t.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def revoke_token(self, token_id: int, actor: str = "cli") -> None:
        """Revoke a token by its id; InputError if there is no live one."""
        t = schema.web_tokens
        with self.engine.begin() as conn:
            got = conn.execute(update(t).where(and_(t.c.id == token_id, t.c.revoked_at.is_(None))).values(
                revoked_at=datetime.now(UTC)))
        if not got.rowcount:
            raise InputError(f"no live token with id {token_id} (see `closeloop tokens list`)")
        self.audit(actor, "token_revoke", str(token_id))

    # -- audit -------------------------------------------------------------------------

    def audit(self, actor: str | None, action: str, target: str | None = None, ip: str | None = None,
              detail: dict[str, Any] | None = None) -> None:
        """Append one audit row."""
        with self.engine.begin() as conn:
            conn.execute(insert(schema.web_audit).values(
                at=datetime.now(UTC), actor=actor, action=action, target=(target or "")[:300], ip=ip,
                detail=json.dumps(detail, default=str) if detail else None))

    def audit_rows(self, since: datetime | None = None, user: str | None = None, limit: int = 1000) -> list[dict]:
        """Audit rows, newest first, optionally since a moment and for one actor."""
        a = schema.web_audit
        q = select(a.c.at, a.c.actor, a.c.action, a.c.target, a.c.ip, a.c.detail).order_by(a.c.id.desc())
        if since is not None:
            q = q.where(a.c.at >= utc(since))
        if user:
            q = q.where(a.c.actor == user)
        with self.engine.connect() as conn:
            rows = conn.execute(q.limit(limit)).mappings().all()
        return [dict(r) | {"at": utc(r["at"])} for r in rows]


def _user(row: Any) -> User:
    return User(row["id"], row["name"], row["role"], row["vendor"], row["center_id"], row["agent_id"],
                bool(row["disabled"]), utc(row["locked_until"]))

"""Where the shared history is: a PostgreSQL URL, checked once, and never shown with its password.

``history.url`` in the workflow or ``ORCHESTRA_HISTORY_URL`` (which wins);
the password may be in the URL or come from libpq's usual ``PGPASSWORD`` /
``~/.pgpass``. Every message shows :attr:`HistoryUrl.shown`, the URL with
the password masked, and the password is added to the session's redactor.
"""

from __future__ import annotations

import re
from typing import Mapping, Optional
from urllib.parse import unquote, urlsplit

from pytest_orchestra.core.errors import OrchestraError
from pytest_orchestra.core.plainclass import plainclass

URL_VARIABLE = "ORCHESTRA_HISTORY_URL"
URL_SETTING = "history.url"
SCHEMES = ("postgresql", "postgres")

#: ``scheme://user:password@`` in any text: the password part, masked wherever a URL is shown.
_CREDENTIALS = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)(?P<password>[^@\s]*)(?P<tail>@)", re.I)


class HistoryUrlError(OrchestraError, ValueError):
    """A URL that cannot name a history database; ``str()`` is the one line for the user."""


@plainclass(frozen=True)
class HistoryUrl:
    #: As given, password included: passed to the driver, never printed.
    url: str
    #: Where it came from: ``history.url`` or ``ORCHESTRA_HISTORY_URL``.
    source: str
    password: Optional[str] = None

    @property
    def shown(self) -> str:
        """The URL as messages show it: the password masked."""
        return mask_url(self.url)

    @property
    def identity(self) -> str:
        """Which database this is (user, host, port, database; no password): the spool's key."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{unquote(parts.username)}@" if parts.username else ""
        return f"postgresql://{user}{host}{port}{parts.path or '/'}"


def mask_url(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it replaced by ``***``."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('head')}***{m.group('tail')}", text)


def parse_history_url(text: str, source: str) -> HistoryUrl:
    """Check ``text`` as a PostgreSQL URL; :class:`HistoryUrlError` names ``source`` when it is not one."""
    shown = mask_url(text.strip())
    try:
        parts = urlsplit(text.strip())
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError as error:
        raise HistoryUrlError(f"{source}: not a valid URL ({mask_url(str(error))}): {shown}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise HistoryUrlError(
            f"{source}: expected a postgresql:// URL (the history's shared database), got {shown}"
        )
    import psycopg
    from psycopg.conninfo import conninfo_to_dict  # only when a URL is configured

    try:
        params = conninfo_to_dict(text.strip())
    except psycopg.Error as error:
        detail = mask_url(str(error).strip().splitlines()[0])
        raise HistoryUrlError(f"{source}: not a valid PostgreSQL URL ({detail}): {shown}") from None
    del port
    password = params.get("password")
    return HistoryUrl(url=text.strip(), source=source, password=str(password) if password else None)


def configured_url(setting: Optional[str], environ: Mapping[str, str]) -> Optional[HistoryUrl]:
    """``ORCHESTRA_HISTORY_URL`` when set, else the workflow's ``history.url``, else None (SQLite)."""
    from_environment = (environ.get(URL_VARIABLE) or "").strip()
    if from_environment:
        return parse_history_url(from_environment, URL_VARIABLE)
    if setting and setting.strip():
        return parse_history_url(setting, URL_SETTING)
    return None

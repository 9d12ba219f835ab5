"""Which endpoint URLs and model folders a session may use, and how the HTTP client is kept on a leash.

Every path that names an endpoint (the sidebar's "Add endpoint", Model lab specs ``endpoint:<model>@<url>``,
the CLI, ``CW_ENDPOINT_BASE_URL``) goes through :func:`validate_base_url`, because a base URL is later
extended with ``/models`` and ``/chat/completions``: a ``?`` or ``#`` would turn that into any URL on any
server the app can reach (server-side request forgery), ``user:pass@`` would be saved with the project, and
a ``file://`` or ``gopher://`` scheme reaches things that are not HTTP at all. Non-ASCII characters are refused
too: look-alike hosts are a phishing aid and no class server needs them.

Class mode (``CW_INSTRUCTOR_PASSWORD`` set, or ``CW_CLASS_MODE=1``) adds allow-lists: endpoints only from
``CW_ALLOWED_ENDPOINTS`` (default: the class URL), model folders only under ``CW_MODEL_ROOTS``. Outside class
mode a folder outside the roots gets one fixed answer for every failure so the field is not an oracle for
which paths exist on the server.

The client side: redirects are refused outright (:class:`RefuseRedirects`), so the class key can never be
carried to another origin; a body is read up to :data:`MAX_BODY_BYTES`; a failure is described by status and a
fixed sentence, never by the reply's text.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from causal_core.errors import WorkbenchInputError

CLASS_MODE_ENV = "CW_CLASS_MODE"
INSTRUCTOR_ENV = "CW_INSTRUCTOR_PASSWORD"
ALLOWED_ENDPOINTS_ENV = "CW_ALLOWED_ENDPOINTS"
MODEL_ROOTS_ENV = "CW_MODEL_ROOTS"
BASE_URL_ENV = "CW_ENDPOINT_BASE_URL"
MAX_URL_CHARS = 2048
MAX_BODY_BYTES = 4 * 1024 * 1024
ALLOWED_SCHEMES = ("http", "https")
UNREACHABLE = "could not reach the endpoint"
NOT_LOADABLE = "not a loadable model folder"
_FORBIDDEN_URL_CHARS = {"?": "a '?' (query)", "#": "a '#' (fragment)", "@": "a user name or password ('@')",
                        "\\": "a backslash"}


class EndpointRefused(WorkbenchInputError):
    """A base URL or folder this server will not use; the message names the rule that refused it."""


class RedirectRefused(OSError):
    """The endpoint answered with a redirect; redirects are never followed (a key would travel with them)."""


class BodyTooLarge(OSError):
    """The reply is longer than MAX_BODY_BYTES; a hostile server cannot fill the app's memory."""


# ------------------------------------------------------------------------------------------- URLs


def validate_base_url(url: str) -> str:
    """The base URL without a trailing slash, or EndpointRefused naming what is wrong with it.

    The message never repeats the URL: it may carry a password or a payload, and it is shown in a browser.
    """
    raw = str(url)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch in "\u2028\u2029\u0085" for ch in raw):
        raise EndpointRefused("the endpoint base URL may not contain spaces or control characters")
    text = raw.strip(" ")
    if not text:
        raise EndpointRefused("the endpoint base URL is empty")
    if len(text) > MAX_URL_CHARS:
        raise EndpointRefused(f"the endpoint base URL is longer than {MAX_URL_CHARS} characters")
    _refuse_characters(text)
    scheme, sep, _rest = text.partition("://")
    if not sep or scheme.lower() not in ALLOWED_SCHEMES:
        raise EndpointRefused("the endpoint base URL must start with http:// or https:// (other schemes such as "
                              "file://, ftp:// or gopher:// are refused)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise EndpointRefused("the endpoint base URL has an invalid host or port") from None
    if not parts.hostname:
        raise EndpointRefused("the endpoint base URL has no host")
    if port == 0:
        raise EndpointRefused("the endpoint base URL has an invalid port (0)")
    if parts.query or parts.fragment or parts.username is not None or parts.password is not None:
        raise EndpointRefused("the endpoint base URL may not carry a query, fragment or credentials")
    return text.rstrip("/")


def _refuse_characters(text: str) -> None:
    for character, name in _FORBIDDEN_URL_CHARS.items():
        if character in text:
            raise EndpointRefused(f"the endpoint base URL may not contain {name}; type an API key in its own field")
    for character in text:
        if character.isspace() or ord(character) < 0x21 or ord(character) == 0x7F:
            raise EndpointRefused("the endpoint base URL may not contain spaces or control characters")
        if ord(character) > 0x7E:
            raise EndpointRefused("the endpoint base URL may contain only ASCII characters (use the punycode "
                                  "form of an international host name)")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


# ------------------------------------------------------------------------------------- class mode


def class_mode() -> bool:
    """On when an instructor password is configured or CW_CLASS_MODE=1 (also "true"/"yes"/"on")."""
    explicit = os.environ.get(CLASS_MODE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return explicit or bool(os.environ.get(INSTRUCTOR_ENV, ""))


def allowed_endpoints() -> list[str]:
    """CW_ALLOWED_ENDPOINTS (comma-separated origins or base URLs), else the class URL; invalid entries dropped."""
    raw = os.environ.get(ALLOWED_ENDPOINTS_ENV, "")
    entries = [entry for entry in raw.split(",") if entry.strip()] or [os.environ.get(BASE_URL_ENV, "")]
    allowed = []
    for entry in entries:
        try:
            allowed.append(validate_base_url(entry))
        except EndpointRefused:
            continue
    return allowed


def is_allowed(base_url: str, allowed: list[str]) -> bool:
    """An origin entry (no path) admits any base URL on that origin; a base URL entry admits only itself."""
    for entry in allowed:
        path = urlsplit(entry).path.strip("/")
        if path:
            if path == urlsplit(base_url).path.strip("/") and _origin(entry) == _origin(base_url):
                return True
        elif _origin(entry) == _origin(base_url):
            return True
    return False


def check_endpoint(url: str) -> str:
    """validate_base_url plus, in class mode, the allow-list; the cleaned URL or EndpointRefused."""
    clean = validate_base_url(url)
    if class_mode() and not is_allowed(clean, allowed_endpoints()):
        raise EndpointRefused("this server runs in class mode: only the endpoints the instructor allowed "
                              f"({ALLOWED_ENDPOINTS_ENV}) can be used")
    return clean


# ---------------------------------------------------------------------------------------- folders


def model_roots() -> list[Path]:
    """CW_MODEL_ROOTS (os.pathsep-separated), each resolved (symlinks followed); missing roots dropped."""
    roots = []
    for entry in os.environ.get(MODEL_ROOTS_ENV, "").split(os.pathsep):
        if entry.strip():
            root = Path(entry.strip()).expanduser().resolve()
            if root.is_dir():
                roots.append(root)
    return roots


def under_a_root(folder: Path, roots: list[Path]) -> bool:
    return any(folder == root or folder.is_relative_to(root) for root in roots)


def check_model_folder(text: str) -> Path:
    """The resolved folder a user may name, or EndpointRefused.

    ``..`` is refused before resolving; the resolved path (symlinks followed) must lie under a root in class
    mode. Outside the roots (any mode) every failure gets the same message, so the answer says nothing about
    which paths exist; under a root the loader's detailed messages are fine (the instructor chose the root).
    """
    raw = str(text).strip()
    if not raw or "\x00" in raw or any(ord(ch) < 0x20 for ch in raw):
        raise EndpointRefused(f"the folder is {NOT_LOADABLE}")
    if ".." in Path(raw).parts or ".." in raw.replace("\\", "/").split("/"):
        raise EndpointRefused("the folder may not contain '..'; give the absolute path of the model folder")
    try:
        folder = Path(raw).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        raise EndpointRefused(f"the folder is {NOT_LOADABLE}") from None
    roots = model_roots()
    if under_a_root(folder, roots):
        return folder
    if class_mode():
        raise EndpointRefused("this server runs in class mode: model folders must be under the folders the "
                              f"instructor configured ({MODEL_ROOTS_ENV})")
    if not (folder.is_dir() and (folder / "config.json").is_file() or folder.is_dir() and any(folder.glob("*.gguf"))):
        raise EndpointRefused(f"the folder is {NOT_LOADABLE}")
    return folder


# ----------------------------------------------------------------------------------------- client


class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every 30x: urllib would otherwise resend the request, Authorization header included, elsewhere."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise RedirectRefused(f"the endpoint answered HTTP {code} (a redirect); redirects are not followed, so a key "
                              "never leaves the endpoint it was meant for. Use the final URL as the base URL.")


_OPENER = urllib.request.build_opener(RefuseRedirects)


def open_url(request: urllib.request.Request, timeout: float) -> Any:
    """urlopen without redirects (and without file://, ftp:// handlers being reachable: URLs are validated)."""
    return _OPENER.open(request, timeout=timeout)


def read_capped(response: Any, limit: int = MAX_BODY_BYTES) -> bytes:
    """At most ``limit`` bytes of a body; BodyTooLarge beyond that (nothing longer is ever held)."""
    data = response.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(f"the endpoint's reply is longer than {limit // (1024 * 1024)} MB")
    return data


# URL credentials: the rule for storing a URL and for sending an endpoint's API key (moved from the registry so
# the HTTP backend does not import the model listing that probes it).


def strip_credentials(url: str) -> str:
    """``http://user:pass@host:8000/v1`` -> ``http://host:8000/v1``: a URL is stored and shown without secrets."""
    text = str(url).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.rpartition("@")[2] if "@" in text else text
    if "@" not in parts.netloc:
        return text
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in, for same-origin checks."""
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        return ("", "", None)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def same_origin(first: str, second: str) -> bool:
    """Same scheme, host and port (the rule for sending an endpoint's API key)."""
    one = origin(first)
    return bool(one[1]) and one == origin(second)

"""DKIM signatures verified by sbwatch itself (dkimpy), for the trust verdict of an email.

A signature makes an email the provider's only when it verifies, its ``d=`` aligns with the
From domain (equal, or the From domain a subdomain of ``d=``) and ``d=`` is a trusted domain.
The key lookup is a function (dkimpy's ``dnsfunc``): dnspython by default, a stub in tests,
the simulated world's DNS in the replay. It blocks: callers on an event loop run this in a
thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sbwatch.ingest.authres import in_domains

if TYPE_CHECKING:
    import dkim

# dkimpy is imported where a signature is read, not here: with dnspython it costs a process
# (the daemon, check-config) a fifth of a second of CPU, for nothing when no email comes.

DnsFunc = Callable[..., bytes | None]
"""dkimpy's ``dnsfunc``: ``(name: bytes, timeout=seconds)`` -> the TXT record, or None."""


def dnspython_txt(name: bytes, timeout: float = 5.0) -> bytes | None:
    """dkimpy's own lookup (``dkim.dnsplug.get_txt``), through dnspython."""
    import dkim.dnsplug

    found: bytes | None = dkim.dnsplug.get_txt(name, timeout=timeout)
    return found


DEFAULT_DNS: DnsFunc = dnspython_txt
"""dkimpy's own lookup, through dnspython."""

_SIGNATURE = b"dkim-signature"


class KeyLookupError(Exception):
    """The public key a signature names could not be looked up."""


@dataclass(frozen=True, slots=True)
class DkimVerdict:
    """Whether a trusted, aligned signature verified; a reason for each signature."""

    trusted: bool
    reason: str
    reasons: tuple[str, ...]


def pinned(keys: Mapping[str, str], fallback: DnsFunc = DEFAULT_DNS) -> DnsFunc:
    """A lookup answering ``selector._domainkey.domain`` from ``keys`` first, else ``fallback``."""
    table = {_norm(name): value.encode("ascii", "replace") for name, value in keys.items()}

    def lookup(name: bytes, timeout: float = 5.0) -> bytes | None:
        found = table.get(_norm(name.decode("ascii", "replace")))
        return found if found is not None else fallback(name, timeout=timeout)

    return lookup


def failing(why: str) -> DnsFunc:
    """A lookup that always fails with ``why`` (a lookup that ran out of time)."""

    def lookup(name: bytes, timeout: float = 5.0) -> bytes | None:
        raise KeyLookupError(why)

    return lookup


def aligned(from_domain: str, signer: str) -> bool:
    """Relaxed alignment: the From domain equals ``d=`` or is a subdomain of it."""
    return bool(signer) and (from_domain == signer or from_domain.endswith("." + signer))


def verify(
    raw: bytes, from_domain: str, trusted: tuple[str, ...], dns: DnsFunc, timeout_s: float
) -> DkimVerdict:
    """Verify the DKIM signatures of ``raw`` until one makes it the provider's."""
    import dkim

    try:
        checker = dkim.DKIM(raw, logger=_quiet(), timeout=timeout_s)
    except Exception as exc:  # dkimpy on a hostile message: unreadable means unsigned
        why = f"no DKIM signature could be read ({_short(exc)})"
        return DkimVerdict(False, why, (why,))
    signatures = [value for name, value in checker.headers if name.lower() == _SIGNATURE]
    if not signatures:
        return DkimVerdict(False, "no DKIM signature", ("no DKIM-Signature header",))
    reasons: list[str] = []
    for index, value in enumerate(signatures):
        ok, why = _check(checker, index, value, from_domain, trusted, _strict(dns))
        reasons.append(why)
        if ok:
            return DkimVerdict(True, why, tuple(reasons))
    return DkimVerdict(False, "; ".join(reasons), tuple(reasons))


def _check(
    checker: dkim.DKIM,
    index: int,
    value: bytes,
    from_domain: str,
    trusted: tuple[str, ...],
    dns: DnsFunc,
) -> tuple[bool, str]:
    """One signature: alignment and domain first (no lookup for a foreign ``d=``), then dkimpy."""
    import dkim.util

    try:
        tags = dkim.util.parse_tag_value(value)
    except Exception as exc:  # dkimpy's tag parser on hostile input
        return False, f"DKIM signature unreadable ({_short(exc)})"
    signer = tags.get(b"d", b"").decode("ascii", "replace").strip().strip(".").lower()
    if not aligned(from_domain, signer):
        return False, (
            f"DKIM signature d={signer or '(none)'} does not align with "
            f"From domain {from_domain or '(none)'}"
        )
    if not in_domains(signer, trusted):
        return False, f"DKIM signature d={signer} aligns with From but is not a trusted domain"
    if b"l" in tags:
        return False, f"DKIM signature d={signer} signs only part of the body (l=)"
    try:
        good = checker.verify(idx=index, dnsfunc=dns)
    except KeyLookupError as exc:
        return False, f"DKIM key lookup failed: {exc}"
    except Exception as exc:  # dkimpy: malformed signatures, body hash mismatch, bad keys
        return False, f"DKIM signature d={signer} fails: {_short(exc)}"
    if not good:
        return False, f"DKIM signature d={signer} fails: the signature does not verify"
    return True, f"DKIM signature d={signer} verified by sbwatch"


def _strict(dns: DnsFunc) -> DnsFunc:
    """``dns``, with every failure and a missing record raised as KeyLookupError."""

    def lookup(name: bytes, timeout: float = 5.0) -> bytes | None:
        shown = name.decode("ascii", "replace").rstrip(".")
        try:
            found = dns(name, timeout=timeout)
        except KeyLookupError as exc:
            raise KeyLookupError(f"{shown}: {exc}") from exc
        except Exception as exc:  # any resolver failure: timeout, refused, no resolver
            raise KeyLookupError(f"{shown}: {_short(exc)}") from exc
        if not found:
            raise KeyLookupError(f"{shown}: no DKIM key published")
        return found

    return lookup


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _short(exc: BaseException) -> str:
    """An exception as one short line, without dkimpy's digests ("body hash mismatch (got")."""
    text = " ".join(str(exc).split()).split(" (got ")[0]
    return (text or type(exc).__name__)[:200]


def _quiet() -> logging.Logger:
    """dkimpy's logger, kept out of sbwatch's output (it can echo headers at debug level)."""
    logger = logging.getLogger("sbwatch.ingest.dkimpy")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger

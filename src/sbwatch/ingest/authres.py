"""Authentication-Results headers (RFC 8601): parsing and the trust verdict, pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

_METHOD = re.compile(r"^\s*([a-z0-9_.-]+)\s*(?:/\s*\d+\s*)?=\s*([a-z]+)", re.IGNORECASE)
_PROP = re.compile(r"\b([a-z]+)\.([a-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One ``method=result`` clause with its properties (``header.d``, ``smtp.mailfrom``...)."""

    method: str
    result: str
    props: dict[str, str]


@dataclass(frozen=True, slots=True)
class AuthHeader:
    """One Authentication-Results header: who added it and what it claims."""

    authserv_id: str
    results: tuple[AuthResult, ...]
    raw: str


def strip_comments(value: str) -> str:
    """Remove RFC 5322 comments (nested parentheses) outside quoted strings."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif char == '"' and depth == 0:
            quoted = not quoted
            out.append(char)
        elif char == "(" and not quoted:
            depth += 1
        elif char == ")" and not quoted and depth > 0:
            depth -= 1
            out.append(" ")
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _split_clauses(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_auth_header(value: str) -> AuthHeader | None:
    """Parse one header value; None when it names no authserv-id."""
    clean = strip_comments(value.replace("\r", " ").replace("\n", " "))
    clauses = _split_clauses(clean)
    head = clauses[0].split()
    if not head:
        return None
    results: list[AuthResult] = []
    for clause in clauses[1:]:
        match = _METHOD.match(clause)
        if not match:
            continue
        props = {
            f"{p.group(1).lower()}.{p.group(2).lower()}": p.group(3).strip('"')
            for p in _PROP.finditer(clause[match.end() :])
        }
        results.append(AuthResult(match.group(1).lower(), match.group(2).lower(), props))
    return AuthHeader(head[0].lower().rstrip("."), tuple(results), value.strip())


def domain_of(value: str) -> str:
    """The domain part of an address or a bare domain, lowercased."""
    domain = value.strip().strip("<>").rsplit("@", 1)[-1]
    return domain.strip().strip(".").lower()


def in_domains(domain: str, trusted: tuple[str, ...]) -> bool:
    """Whether ``domain`` equals one of ``trusted`` or is a subdomain of one."""
    if not domain:
        return False
    for item in trusted:
        base = item.strip().strip(".").lower()
        if base and (domain == base or domain.endswith("." + base)):
            return True
    return False


def passing_clause(header: AuthHeader, trusted: tuple[str, ...]) -> str | None:
    """The first DKIM or SPF pass for a trusted domain in this header, described; else None."""
    for res in header.results:
        if res.result != "pass":
            continue
        if res.method == "dkim":
            domain = domain_of(res.props.get("header.d") or res.props.get("header.i", ""))
            if in_domains(domain, trusted):
                return f"dkim=pass header.d={domain}"
        elif res.method == "spf":
            domain = domain_of(res.props.get("smtp.mailfrom", ""))
            if in_domains(domain, trusted):
                return f"spf=pass smtp.mailfrom={domain}"
    return None


def failure_summary(header: AuthHeader) -> str:
    """A short ``method=result`` list of a header, for reasons."""
    if not header.results:
        return "no results"
    return " ".join(f"{r.method}={r.result}" for r in header.results)

"""What every list page shares: the filters of the address, pagination, school names."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Request

from rollbook.domain.values import is_digits
from rollbook.web.pages import query_url
from rollbook.web.session import WebCtx

MAX_PAGE = 100
ORIGINS = [("", "Any origin"), ("sis", "Synced from SIS"), ("manual", "Added by hand")]
STATUSES = [("active", "Active"), ("inactive", "Inactive"), ("all", "Active and inactive")]
KINDS = [("", "Classes and groups"), ("class", "Classes"), ("group", "Groups")]


@dataclass(frozen=True)
class Filters:
    """The list filters, as the address carries them (so a filtered list can be bookmarked)."""

    q: str = ""
    school_id: str = ""
    origin: str = ""
    status: str = "active"
    kind: str = ""
    cursor: str = ""
    limit: str = ""

    @classmethod
    def of(cls, request: Request) -> Filters:
        params = request.query_params
        return cls(**{name: str(params.get(name, default))[:200] for name, default in _DEFAULTS})

    @property
    def page_size(self) -> int | None:
        """Pages hold 50 rows unless `limit` asks for 1 to 100."""
        if is_digits(self.limit) and 1 <= int(self.limit) <= MAX_PAGE:
            return int(self.limit)
        return None

    def service_args(self) -> dict[str, Any]:
        return {
            "q": self.q.strip() or None,
            "school_id": self.school_id or None,
            "origin": self.origin or None,
            "status": self.status or "active",
            "limit": self.page_size,
            "cursor": self.cursor or None,
        }

    def url(self, path: str, **override: str | None) -> str:
        params = {**asdict(self), **override}
        if params.get("status") == "active":
            params["status"] = ""
        return query_url(path, params)

    @property
    def narrowed(self) -> bool:
        return bool(self.q or self.school_id or self.origin or self.kind or self.status != "active")


_DEFAULTS = [(name, value) for name, value in asdict(Filters()).items()]


def pages(filters: Filters, path: str, next_cursor: str | None) -> dict[str, str | None]:
    """The pager's links: the next page, and back to the first when on a later one."""
    return {
        "next_url": filters.url(path, cursor=next_cursor) if next_cursor else None,
        "first_url": filters.url(path, cursor=None) if filters.cursor else None,
    }


def school_names(ctx: WebCtx, ids: list[int]) -> list[str]:
    """Names of schools the educator sees; others (outside their reach) are not named."""
    named = ctx.schools_of(ids)
    return [named[i].name for i in ids if i in named]


def unseen_schools(ctx: WebCtx, ids: list[int]) -> list[int]:
    """The schools among `ids` outside the educator's reach (R2), which a form cannot show."""
    seen = ctx.schools_of(ids)
    return [i for i in ids if i not in seen]


def school_options(ctx: WebCtx) -> list[tuple[str, str]]:
    return [(str(s.id), s.name) for s in ctx.schools.values()]

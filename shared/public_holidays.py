"""Public holidays and business days: the one calendar of days off that billing's charge window
(R-B4) and the tickets SLA engine (shared/business_time.py, R-T4) both count with. Pure: no I/O.

    public_holidays("PL", 2026)[date(2026, 12, 24)]   # "Christmas Eve"
    is_business_day(date(2026, 12, 24))               # False: a Polish public holiday from 2025 on

The holidays come from the `holidays` package, plus Christmas Eve in Poland from 2025 on (Act of
6 Dec 2024 amending the public-holidays act): `holidays` has it in the installed version (0.109);
older releases that pyproject still allows do not.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from types import MappingProxyType, ModuleType
from typing import Mapping

__all__ = ["is_business_day", "public_holidays"]


def _package() -> ModuleType:
    """The `holidays` package (its country tables and dateutil), imported at the first calendar
    rather than at start-up: it is a few MB of every idle process."""
    import holidays

    return holidays


def __getattr__(name: str) -> object:  # PEP 562: `holidays_lib`, the package, loaded when asked for
    if name == "holidays_lib":
        return _package()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> Mapping[date, str]:
    found = dict(_package().country_holidays(country, years=year))
    if country.upper() in ("PL", "POL") and year >= 2025 and date(year, 12, 24) not in found:
        found[date(year, 12, 24)] = "Christmas Eve"
    return MappingProxyType(found)


def public_holidays(country: str, year: int) -> Mapping[date, str]:
    """The public holidays of `country` (ISO code, e.g. "PL") in `year`: date → name, read-only."""
    return _holidays(country, year)


def is_business_day(day: date, country: str = "PL") -> bool:
    """Monday to Friday and not a public holiday of `country`."""
    return day.weekday() < 5 and day not in _holidays(country, day.year)

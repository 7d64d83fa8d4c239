"""Business hours as teams write them: a time zone name and weekly intervals ("09:00"). Pure
parsing, no tables: the BusinessHours model validates with it, the SLA clocks count with it."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {name!r}.") from None


def _minute_of(text: str) -> int:
    hours, sep, minutes = str(text).partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"Write times as HH:MM, not {text!r}.")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise ValueError(f"{text!r} is not a time of day.")
    return value


def parse_weekly(weekly) -> dict[int, list[tuple[int, int]]]:
    """{"1": [["09:00", "17:00"]], ...} -> {1: [(540, 1020)]}; raises ValueError."""
    if not isinstance(weekly, dict):
        raise ValueError("Weekly hours must map weekday numbers 1-7 to lists of intervals.")
    parsed = {}
    for day, intervals in weekly.items():
        if str(day) not in {"1", "2", "3", "4", "5", "6", "7"}:
            raise ValueError(f"Weekday {day!r} is not 1 (Monday) to 7 (Sunday).")
        spans = []
        for interval in intervals or []:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValueError("Each interval is [start, end].")
            start, end = _minute_of(interval[0]), _minute_of(interval[1])
            if end <= start:
                raise ValueError(f"{interval[0]}-{interval[1]} ends before it starts.")
            spans.append((start, end))
        parsed[int(day)] = sorted(spans)
    return parsed

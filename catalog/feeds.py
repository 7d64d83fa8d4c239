"""Channel feeds (placeholder until the generator lands)."""


def schedule_regeneration():
    return None

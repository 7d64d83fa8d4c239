"""Ad audiences' demo stage: two ready-made segments connected to a Google Ads user list and
a Meta custom audience (made-up ids), each with a dry run that counts its hashed members.
Nothing leaves the machine: no credentials are set and a dry run sends nothing."""

from campaigns.models import AdAudience, AdPlatform, Segment
from campaigns.services.ad_audiences import sync_audience

DEMO_LISTS = [
    ("Researched online, bought in store", AdPlatform.GOOGLE_ADS, "5550001"),
    ("Researched online, bought in store", AdPlatform.META, "23850000000001"),
    ("Bought in store only, never online", AdPlatform.META, "23850000000002"),
]


def seed_ad_audiences(ctx):
    segments = {segment.name: segment for segment in Segment.objects.all()}
    made = 0
    for name, platform, external_id in DEMO_LISTS:
        segment = segments.get(name) or next(iter(segments.values()), None)
        if segment is None:
            return
        audience, created = AdAudience.objects.get_or_create(
            platform=platform,
            external_id=external_id,
            defaults={"segment": segment, "is_enabled": False},
        )
        if created:
            made += 1
            sync_audience(audience.pk, dry_run=True, reason="demo")
    ctx.created("ad audiences", made)

"""Settings of the workers that the fault tests start: the project's, with a provider retry
backoff of a second instead of 30, so a test waits seconds for the retry path it checks."""

from config.settings import *  # noqa: F403

CAMPAIGN_RETRY_BACKOFF_SECONDS = 1

"""Split into campaigns.services.audience (who, where, when), launch (a campaign's rows and
status) and delivery (sending the rows). Kept only for the two callers outside the campaigns
code that still import it: tests/customers/test_erasure_everywhere.py (start_campaign) and
bench/campaign.py. Delete this module once both import the new modules."""

import sys
import types

from campaigns.services.delivery import CHUNK_SIZE, SEND_THREADS
from campaigns.services.launch import start_campaign

__all__ = ["CHUNK_SIZE", "SEND_THREADS", "start_campaign"]


class _MovedModule(types.ModuleType):
    def __setattr__(self, name, value):
        # bench/campaign.py replaces enqueue_due to keep start_campaign from sending: here
        # that would silently reach nothing, so say where it lives now.
        if name == "enqueue_due":
            raise AttributeError(
                "start_campaign is in campaigns.services.launch: patch launch.enqueue_due"
            )
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _MovedModule

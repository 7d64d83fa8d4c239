"""The unified customer record: identities, resolution and merge, the event timeline, consent, privacy."""

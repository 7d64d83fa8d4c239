"""Core's writes: API keys, idempotency, the outbox."""

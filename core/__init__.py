"""What every app shares and no app owns: channels, partner API keys and scopes, the API error format, idempotency, the outbox, the staff home."""

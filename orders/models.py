"""Orders tables."""

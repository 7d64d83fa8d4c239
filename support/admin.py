"""Admin registrations for support."""

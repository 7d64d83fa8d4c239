"""Admin registrations for inventory."""

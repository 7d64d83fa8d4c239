"""Admin registrations for catalog."""

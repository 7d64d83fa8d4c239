"""Admin registrations for campaigns."""

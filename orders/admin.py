"""Admin registrations for orders."""

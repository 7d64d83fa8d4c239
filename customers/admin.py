"""Admin registrations for customers."""

"""seed_demo stages of campaigns."""

"""Support's demo stages (filled below)."""

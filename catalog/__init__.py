"""Products, variants, attributes, media, prices, per-channel listings and channel feeds."""

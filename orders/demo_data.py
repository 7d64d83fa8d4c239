"""Demo data of orders (stages registered with core.demo)."""

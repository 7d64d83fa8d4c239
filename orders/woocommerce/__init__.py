"""A WooCommerce shop as a sales channel: its webhooks bring orders, customers and product
links in; our stock figures go out through its REST API."""

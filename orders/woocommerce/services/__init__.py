"""The connector's writes, one module per capability:

- deliveries: a webhook delivery verified, deduplicated and applied (receive_delivery);
- orders: WooCommerce orders and customers through the orders and customers services;
- catalog: our variants linked to the shop's products and variations, prices and titles;
- stock: our figures written to the shop (inventory's push target).
"""

"""Carts, orders from any channel, fulfilment, returns, exchanges and replacements."""

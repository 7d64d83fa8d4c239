"""Link a WooCommerce shop's products to our variants by SKU (once, after setting a channel
up; product.updated webhooks keep the links afterwards)."""

from django.core.management.base import BaseCommand, CommandError

from core.providers import ProviderError
from orders.woocommerce.errors import UnknownShop
from orders.woocommerce.services.catalog import link_products
from orders.woocommerce.services.deliveries import shop


class Command(BaseCommand):
    help = (
        "Read every product and variation of the channel's WooCommerce shop and link those "
        "whose SKU is one of ours (prices and names written to the channel's listings)."
    )

    def add_arguments(self, parser):
        parser.add_argument("channel", help="The WooCommerce channel's code.")

    def handle(self, *args, channel, **options):
        try:
            result = link_products(shop(channel))
        except UnknownShop as error:
            raise CommandError(str(error)) from error
        except ProviderError as error:
            raise CommandError(f"The shop did not answer: {error}") from error
        self.stdout.write(
            f"{result['linked']} products linked, {result['unknown']} without a SKU of ours."
        )

# A channel may be a WooCommerce shop: orders, customers and products come in by its
# webhooks, stock figures go out through its REST API (the woocommerce app).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_audit_trail"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="provider",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "No sending"),
                    ("console", "Console (prints, for development)"),
                    ("smtp", "Email backend (SMTP)"),
                    ("http", "HTTP provider with signed webhooks"),
                    ("telegram", "Telegram Bot API"),
                    ("whatsapp", "WhatsApp Cloud API"),
                    ("messenger", "Messenger (Meta Send API)"),
                    ("instagram", "Instagram (Meta Send API)"),
                    ("twilio", "SMS through a Twilio-compatible API"),
                    ("kavenegar", "SMS through Kavenegar"),
                    ("woocommerce", "WooCommerce shop (orders in, stock out)"),
                ],
                default="",
                max_length=20,
                verbose_name="provider",
            ),
        ),
    ]

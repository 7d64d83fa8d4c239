"""Profiles leave half of each page free, so a batch that updates the figures of every profile
on a page can still rewrite each row in place (HOT).

Customers created together (an import, a campaign's audience, the first visits of a day) sit
on the same pages and keep being active together; a batch then updates every row of those
pages at once. With 20 % free space most of those updates could not stay on their page and
wrote a new entry into every index of the table, trigram ones included. At 50 % they stay.
The table takes twice the space; profiles are small. Only new pages follow the setting;
`VACUUM FULL customers_customer` applies it to existing ones. PostgreSQL only.
"""

from django.db import migrations


def leave_half_of_each_page_free(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_customer SET (fillfactor = 50)")


def back_to_a_fifth(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_customer SET (fillfactor = 80)")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_name_trigram_indexes"),
    ]

    operations = [
        migrations.RunPython(leave_half_of_each_page_free, back_to_a_fifth),
    ]

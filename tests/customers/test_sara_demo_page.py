"""Sara Rahimi's page in the demo (the README's first story, issue 15): her lifetime box
agrees with the orders listed beside it."""

import re

import pytest
from django.core.management import call_command

from core.demo_data import DEMO_PASSWORD
from customers.demo_data import SARA_EMAIL
from customers.normalise import IdentityKey
from customers.selectors import customer_for_identity
from orders.selectors import orders_of_customer

pytestmark = pytest.mark.django_db
ROW = re.compile(r"<tr>\s*<td><a href=\"/orders/[^\"]+/\">.*?</tr>", re.S)
CELL = re.compile(r"<td>(.*?)</td>", re.S)


def test_saras_lifetime_purchases_agree_with_her_order_list(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)  # the demo's feeds are built there
    call_command("seed_demo", "--size", "small", verbosity=0)
    sara = customer_for_identity(IdentityKey("email", SARA_EMAIL))
    assert client.login(username="support_agent", password=DEMO_PASSWORD)
    page = client.get(f"/customers/{sara.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    purchases = int(re.search(r'data-testid="orders-count">([^<]*)<', html).group(1))
    panel = html.split('data-panel="orders"', 1)[1].split("</table>", 1)[0]
    # (kind, status) of each order listed: Order, Channel, Kind, Status, Total, Placed.
    orders = [tuple(CELL.findall(row)[2:4]) for row in ROW.findall(panel)]
    kinds = [kind for kind, _status in orders]
    # Her story: the web order, the exchange at the store, the replacement of the defective pair.
    assert {"Sale", "Exchange", "Replacement"} <= set(kinds), orders
    # An exchange or a replacement follows a purchase and is not counted again.
    sales = [status for kind, status in orders if kind == "Sale" and status != "Cancelled"]
    assert purchases == len(sales), (purchases, orders)
    paid = orders_of_customer(sara).filter(kind="sale").exclude(status="cancelled")
    assert purchases == paid.count()

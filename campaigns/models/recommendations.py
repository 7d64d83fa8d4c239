"""The precomputed half of recommendations: how strongly two products go together, from
everyone's purchases, views and adds to cart (campaigns.services.recommendations computes
and reads it; the method is written out there)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProductPairScore(models.Model):
    """`other` goes with `product` this much: a recency-weighted count of customers who
    bought both (`bought_together`) or looked at both (`viewed_together`), and the `score`
    that ranks them. Only the strongest partners of each product are kept; the table is
    rewritten by the refresh, never edited by hand."""

    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    other = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("goes with"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    score = models.FloatField(_("score"))
    bought_together = models.FloatField(_("bought together"), default=0)
    viewed_together = models.FloatField(_("viewed together"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed"), default=timezone.now)

    class Meta:
        verbose_name = _("product pair score")
        verbose_name_plural = _("product pair scores")
        constraints = [
            # Its index is the read path: the partners of her products, by product.
            models.UniqueConstraint(fields=["product", "other"], name="campaigns_product_pair"),
            models.CheckConstraint(
                condition=~models.Q(product=models.F("other")), name="campaigns_pair_of_two"
            ),
        ]

    def __str__(self):
        return f"{self.product_id} -> {self.other_id}: {self.score:.2f}"

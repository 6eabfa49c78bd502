"""Acme Shop's tools, as live python backends for `--mode record` (replay answers from the
cassettes and never imports this file). A small in-memory shop: three orders and a policy."""

from __future__ import annotations

from typing import Any

ORDERS: dict[str, dict[str, Any]] = {
    "ORD-1042": {
        "items": ["Standing desk"],
        "total_usd": 149.0,
        "status": "shipped",
        "shipped_on": "2025-06-03",
        "carrier": "UPS",
        "tracking": "1Z999AA10123456784",
        "estimated_delivery": "2025-06-06",
    },
    "ORD-3310": {
        "items": ["Ceramic mug set"],
        "total_usd": 59.9,
        "status": "delivered",
        "delivered_on": "2025-06-02",
    },
    "ORD-0999": {
        "items": ["Wireless headphones"],
        "total_usd": 89.0,
        "status": "delivered",
        "delivered_on": "2024-11-20",
    },
}
POLICIES = {
    "refunds": (
        "Refunds are accepted within 30 days of delivery. Items that arrive damaged are refunded "
        "in full, with no need to send them back. After 30 days we offer store credit only."
    ),
    "shipping": (
        "We ship to the EU, Norway, Switzerland and the UK. Delivery takes 3-5 business days; "
        "orders over $100 ship free."
    ),
}
_refunds: list[dict[str, Any]] = []


def lookup_order(order_id: str) -> dict[str, Any]:
    if order_id not in ORDERS:
        raise LookupError(f"no order {order_id}")
    return {"order_id": order_id, **ORDERS[order_id]}


def search_policy(topic: str) -> dict[str, Any]:
    matches = {name: text for name, text in POLICIES.items() if name.rstrip("s") in topic.lower()}
    return {"topic": topic, "policies": matches or POLICIES}


def issue_refund(order_id: str, amount_usd: float, reason: str) -> dict[str, Any]:
    order = lookup_order(order_id)
    if amount_usd > order["total_usd"]:
        raise ValueError(f"{amount_usd} is more than the order's total {order['total_usd']}")
    _refunds.append({"order_id": order_id, "amount_usd": amount_usd, "reason": reason})
    return {
        "refund_id": f"RF-{7000 + len(_refunds)}",
        "order_id": order_id,
        "amount_usd": amount_usd,
        "status": "approved",
    }

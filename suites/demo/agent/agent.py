"""A deterministic support-triage agent that speaks the harness protocol (JSON lines on stdio).

It reads one ticket, looks the customer and any order up, searches the knowledge base, opens a
ticket when a human has to act, and answers with a structured triage (see ../schema.json).
Rule-based on purpose: the demo suite shows the harness, not a model. It uses the agent SDK
(`harness.agent`, stdlib only), so the protocol is three calls: agent.try_call, agent.log, run.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Any python3 can run the demo from a checkout: the SDK is imported from this repository when
# harness is not installed for that interpreter.
sys.path.append(str(Path(__file__).resolve().parents[3]))

from harness.sdk import Agent, run

# First match wins, so the order matters: "refund my late order" is billing, not shipping.
CATEGORY_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("billing", ("refund", "charged", "invoice", "payment")),
    ("account", ("password", "log in", "login", "2fa", "locked out")),
    ("technical", ("outage", "down", "error", "crash", "bug")),
    ("shipping", ("delivery", "shipping", "tracking", "where is my order")),
]
NEEDS_HUMAN = {"billing", "technical"}
ORDER_ID = re.compile(r"\bORD-\d+\b")


def classify(text: str) -> tuple[str, str]:
    """The category and the keyword that decided it."""
    lowered = text.lower()
    for category, keywords in CATEGORY_KEYWORDS:
        for keyword in keywords:
            if keyword in lowered:
                return category, keyword
    return "general", ""


def prioritize(category: str, text: str, plan: str, order: dict[str, Any] | None) -> str:
    urgent_words = "urgent" in text.lower() or "down" in text.lower()
    if category == "technical" and urgent_words and plan == "enterprise":
        return "urgent"
    if plan == "enterprise" or (order is not None and order.get("total_usd", 0) >= 100):
        return "high"
    if category in ("account", "general"):
        return "low"
    return "normal"


def triage(agent: Agent) -> dict[str, Any]:
    ticket: dict[str, Any] = agent.input["ticket"]
    text = f"{ticket['subject']}\n{ticket['body']}"
    category, keyword = classify(text)

    found = agent.try_call("get_customer", email=ticket["from"])
    customer = found.result if found.ok else {"id": None, "name": "there", "plan": "none"}

    order = None
    match = ORDER_ID.search(text)
    if match:
        found_order = agent.try_call("get_order", order_id=match.group())
        order = found_order.result if found_order.ok else None

    priority = prioritize(category, text, customer["plan"], order)
    query = f"{category} {keyword}".strip()
    kb = agent.try_call("search_kb", query=query, limit=2).result
    articles = kb.get("articles", []) if isinstance(kb, dict) else []

    ticket_id = None
    delayed = order is not None and order.get("status") == "delayed"
    if category in NEEDS_HUMAN or delayed:
        args = {
            "customer_id": customer["id"] or "guest",
            "category": category,
            "priority": priority,
            "subject": ticket["subject"],
        }
        if order is not None:
            args["order_id"] = order["id"]
        ticket_id = agent.call("create_ticket", args)["ticket_id"]

    agent.log(f"triaged as {category}/{priority}")
    return {
        "category": category,
        "priority": priority,
        "reply": compose_reply(customer["name"], articles, order, ticket_id),
        "ticket_id": ticket_id,
        "kb_articles": [article["id"] for article in articles],
        "customer_id": customer["id"],
        # Volatile on purpose: the suite's normalization rule replaces it.
        "handled_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def compose_reply(
    name: str, articles: list[dict[str, Any]], order: dict[str, Any] | None, ticket_id: str | None
) -> str:
    parts = [f"Hi {name}, thanks for reaching out."]
    if order is not None and order.get("status") == "in_transit":
        parts.append(f"Your order {order['id']} is on its way (tracking {order['tracking']}).")
    if articles:
        parts.append(f"This article should help: {articles[0]['title']}.")
    if ticket_id is not None:
        parts.append(f"A specialist will follow up on ticket {ticket_id}.")
    return " ".join(parts)


def main() -> None:
    # Protocol 2 (opt-in here, to show it): say hello first, then triage one ticket after
    # another in this one process until stdin closes. See docs/protocol.md.
    run(triage, multi_task=os.environ.get("AGENT_MULTI_TASK") == "1")


if __name__ == "__main__":
    main()

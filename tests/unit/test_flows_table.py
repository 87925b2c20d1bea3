"""The tables the router dispatches on (handlers/flows.py): every entry leads to a registered
flow, and the main menu is one of its steps."""

from __future__ import annotations

from handlers.entries import ENTRY_FLOWS
from handlers.flows import FLOWS, HOME


def test_every_flow_is_registered_under_its_name_and_the_menu_is_a_step() -> None:
    assert all(name == flow.name for name, flow in FLOWS.items())
    assert HOME[1] in FLOWS[HOME[0]].steps


def test_every_entry_with_a_flow_leads_to_a_registered_one() -> None:
    missing = {entry: flow for entry, flow in ENTRY_FLOWS.items() if flow and flow not in FLOWS}
    assert not missing

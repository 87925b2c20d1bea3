"""The software/plan catalog, with the price each payer sees."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from domain.money import monthly_price, to_money
from services.errors import NotFound
from storage.models import Plan, Software
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class PlanView:
    id: int
    name: str
    list_price: Decimal

    def price_for(self, *, gestor_pays: bool) -> Decimal:
        return monthly_price(self.list_price, gestor_pays=gestor_pays)


@dataclass(frozen=True, slots=True)
class SoftwareView:
    id: int
    name: str
    plans: tuple[PlanView, ...]


def list_softwares(uow: UnitOfWork) -> list[SoftwareView]:
    with uow:
        return [
            SoftwareView(
                s.id,
                s.name,
                tuple(PlanView(p.id, p.name, p.monthly_price) for p in s.plans if p.active),
            )
            for s in uow.catalog.softwares()
        ]


def get_plan(uow: UnitOfWork, software_id: int, plan_id: int) -> tuple[SoftwareView, PlanView]:
    """The software and one of its active plans, or NotFound (ids come from buttons)."""
    for software in list_softwares(uow):
        if software.id == software_id:
            for plan in software.plans:
                if plan.id == plan_id:
                    return software, plan
    raise NotFound("Este plano não está mais disponível. Escolha outro.")


def load_catalog(uow: UnitOfWork, path: Path) -> tuple[int, int]:
    """Insert or update softwares and plans from a JSON file; returns (softwares, plans)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    softwares = plans = 0
    with uow:
        for item in data["softwares"]:
            software = uow.catalog.software_by_code(item["code"])
            if software is None:
                software = Software(code=item["code"], name=item["name"], active=True)
                uow.catalog.add(software)
            software.name = item["name"]
            software.base_url = item.get("base_url")
            software.active = item.get("active", True)
            softwares += 1
            by_code = {p.code: p for p in software.plans}
            for position, plan_item in enumerate(item["plans"]):
                plan = by_code.get(plan_item["code"])
                if plan is None:
                    plan = Plan(software_id=software.id, code=plan_item["code"])
                    uow.catalog.add(plan)
                plan.name = plan_item["name"]
                plan.monthly_price = to_money(Decimal(plan_item["monthly_price"]))
                plan.position = position
                plan.active = plan_item.get("active", True)
                plans += 1
        uow.commit()
    return softwares, plans

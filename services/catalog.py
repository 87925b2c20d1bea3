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
        plans: dict[tuple[int, str], list[PlanView]] = {}
        for row in uow.catalog.rows():
            offered = plans.setdefault((row.software_id, row.software_name), [])
            if row.plan_id and row.plan_name and row.monthly_price is not None and row.plan_active:
                offered.append(PlanView(row.plan_id, row.plan_name, row.monthly_price))
        return [SoftwareView(id_, name, tuple(items)) for (id_, name), items in plans.items()]


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
            is_new = software is None
            if software is None:
                software = Software(code=item["code"])
            software.name = item["name"]
            software.base_url = item.get("base_url")
            software.active = item.get("active", True)
            if is_new:
                uow.catalog.add(software)  # flushes: every NOT NULL column is set by now
            softwares += 1
            by_code = {p.code: p for p in software.plans}
            for position, plan_item in enumerate(item["plans"]):
                plan = by_code.get(plan_item["code"])
                is_new = plan is None
                if plan is None:
                    plan = Plan(software_id=software.id, code=plan_item["code"])
                plan.name = plan_item["name"]
                plan.monthly_price = to_money(Decimal(plan_item["monthly_price"]))
                plan.position = position
                plan.active = plan_item.get("active", True)
                if is_new:
                    uow.catalog.add(plan)
                plans += 1
        uow.commit()
    return softwares, plans

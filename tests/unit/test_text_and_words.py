"""Search folding and the contract's words (status, payer, role)."""

from __future__ import annotations

import pytest

from domain.clients import ContractStatus, Payer, Role
from domain.text import fold


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("São João LTDA", "sao joao ltda"),
        ("  AÇÚCAR   e  Café ", "acucar e cafe"),
        ("Padaria Sao Bento", "padaria sao bento"),
        ("ﬁnanceira", "financeira"),  # compatibility ligature
    ],
)
def test_fold_ignores_accents_case_and_extra_spaces(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_status_labels_are_the_panels_words() -> None:
    assert [s.label for s in ContractStatus] == ["Efetivado", "Teste", "Bloqueado", "Cancelado"]


def test_only_bloqueado_and_cancelado_cut_access() -> None:
    assert {s for s in ContractStatus if s.cuts_access} == {
        ContractStatus.BLOQUEADO,
        ContractStatus.CANCELADO,
    }


def test_payer_labels_are_gestor_and_cliente() -> None:
    assert [p.label for p in Payer] == ["Gestor", "Cliente"]


def test_only_the_gestor_role_can_manage() -> None:
    assert Role.GESTOR.can_manage
    assert not Role.CONTADOR.can_manage

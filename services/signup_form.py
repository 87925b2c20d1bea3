"""The sign-up form: every field checked with the domain's rules, all errors at once.

The page (web/signup.py) shows each message next to its field and keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domain.contacts import (
    parse_address,
    parse_cep,
    parse_company_name,
    parse_email,
    parse_phone,
)
from domain.documents import parse_tax_id
from domain.errors import InvalidValue
from services.errors import ServiceError

DOC_MISSING = "Digite o seu CPF ou CNPJ."
DOC_TAKEN = "Este CPF/CNPJ já tem cadastro. Se é seu, fale com quem enviou o link."
TERMS_MISSING = "Para continuar, leia e aceite os termos de uso."
PLAN_MISSING = "Escolha o plano."
GESTOR_EMAIL = (
    "Este é um e-mail do seu gestor. O e-mail do cadastro será o seu login: digite o seu."
)


class FormInvalid(ServiceError):
    """One message per field that must be corrected."""

    message = "Corrija os campos destacados."

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__()
        self.errors = errors


@dataclass(frozen=True, slots=True)
class SignUpForm:
    """The form as typed (strings, possibly empty); nothing is trusted."""

    documento: str = ""
    razao_social: str = ""
    nome_fantasia: str = ""
    email: str = ""
    telefone: str = ""
    cep: str = ""
    endereco: str = ""
    email_contador: str = ""
    plano: str = ""  # plan id; only on /cadastro (a link fixes the plan)
    termos: bool = False


@dataclass(frozen=True, slots=True)
class Valid:
    documento: str
    razao_social: str
    nome_fantasia: str | None
    email: str
    telefone: str
    cep: str
    endereco: str
    email_contador: str | None
    errors: dict[str, str] = field(default_factory=dict)


def validate(form: SignUpForm, *, need_plan: bool) -> Valid:
    """Every field through its domain rule; all errors at once, one per field."""
    errors: dict[str, str] = {}

    def check(name: str, parse: Callable[[str], str], value: str) -> str:
        try:
            return parse(value)
        except InvalidValue as exc:
            errors[name] = exc.message
            return ""

    documento = ""
    try:
        documento = parse_tax_id(form.documento).value
    except InvalidValue as exc:
        errors["documento"] = exc.message if form.documento.strip() else DOC_MISSING
    razao = check("razao_social", parse_company_name, form.razao_social)
    fantasia = None
    if form.nome_fantasia.strip():
        try:
            fantasia = parse_company_name(
                form.nome_fantasia, field="nome_fantasia", label="o nome fantasia"
            )
        except InvalidValue as exc:
            errors["nome_fantasia"] = exc.message
    email = check("email", parse_email, form.email)
    telefone = check("telefone", parse_phone, form.telefone)
    cep = check("cep", parse_cep, form.cep)
    endereco = ""
    try:
        endereco = parse_address(form.endereco).one_line
    except InvalidValue as exc:
        errors["endereco"] = exc.message
    contador = None
    if form.email_contador.strip():
        contador = check("email_contador", parse_email, form.email_contador) or None
    if need_plan and not form.plano.strip().isdigit():
        errors["plano"] = PLAN_MISSING
    if not form.termos:
        errors["termos"] = TERMS_MISSING
    return Valid(documento, razao, fantasia, email, telefone, cep, endereco, contador, errors)

"""The service layer's errors. `message` is what a person may be told (pt-BR, no internals)."""

from __future__ import annotations


class ServiceError(Exception):
    """Root of the service layer's errors."""

    message = "Não foi possível concluir a operação."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message


class NotFound(ServiceError):
    """Missing, or not this gestor's: both look the same from outside (tenancy)."""

    message = "Cliente não encontrado."


class Forbidden(ServiceError):
    message = "Esta ação é só para o gestor. Seu acesso é de contador."


class Conflict(ServiceError):
    message = "Já existe um cadastro com estes dados."


class InviteRefused(ServiceError):
    message = "Este código de convite não é válido."

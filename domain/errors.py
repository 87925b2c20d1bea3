"""The domain's own errors: every rule broken by a value raises one of these."""


class DomainError(Exception):
    """Root of the domain layer's errors."""


class InvalidValue(DomainError, ValueError):
    """A value typed by a person does not follow a rule; `message` is safe to show (pt-BR)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

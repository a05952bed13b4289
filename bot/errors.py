"""Errors the domain raises: a message key and its parameters, never rendered text."""

from __future__ import annotations

from typing import Any


class CopError(Exception):
    """An expected refusal the user should read, in their language."""

    key = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key, params)


class NotAllowed(CopError):
    key = "error.not_allowed"


class NotFound(CopError):
    key = "error.not_found"


class Conflict(CopError):
    key = "error.conflict"


class InvalidInput(CopError):
    """Bad input; `field` names the modal field (block id) when there is one."""

    key = "error.invalid"

    def __init__(
        self, key: str | None = None, /, *, field: str | None = None, **params: Any
    ) -> None:
        super().__init__(key, **params)
        self.field = field


class InvalidFields(CopError):
    """Several field errors at once, so a modal can show them all together."""

    key = "error.invalid"

    def __init__(self, errors: list[InvalidInput]) -> None:
        super().__init__(self.key)
        self.errors = errors

"""Renamed names keep working for a while, with one kind of warning (base module: imports only amphys.errors).

>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     renamed_keyword({"n": 5}, "n", "n_per_time", 2000, default=2000, where="evaluate")
5
>>> str(caught[0].message)
'evaluate: the keyword n= is deprecated; use n_per_time= (same meaning)'
"""

from __future__ import annotations

import warnings

from amphys.errors import InputError

__all__ = ["deprecated", "renamed_keyword"]


def deprecated(message: str, stacklevel: int = 3) -> None:
    """Warn with :class:`DeprecationWarning`; ``stacklevel`` 3 points at the caller of the function that warns."""
    warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)


def renamed_keyword(kwargs: dict, old: str, new: str, value, *, default, where: str, stacklevel: int = 4):
    """The value of keyword ``new``, taking the deprecated spelling ``old`` out of ``kwargs`` when given.

    ``value`` is what the caller received for ``new``; giving both ``old`` and a non-default ``new`` is an
    :class:`~amphys.errors.InputError` (they would disagree silently otherwise).
    """
    if old not in kwargs:
        return value
    old_value = kwargs.pop(old)
    if value is not default and value != default:
        raise InputError(f"{where}: got both {old}= (deprecated) and {new}=; give only {new}=")
    deprecated(f"{where}: the keyword {old}= is deprecated; use {new}= (same meaning)", stacklevel)
    return old_value

"""The API's routes, one blueprint per resource."""

from __future__ import annotations

from .buyers import bp as buyers
from .claims import bp as claims
from .documents import bp as documents
from .meta import bp as meta
from .policies import bp as policies
from .quotes import bp as quotes
from .subscriptions import bp as subscriptions

__all__ = ["BLUEPRINTS"]

BLUEPRINTS = (meta, quotes, subscriptions, policies, buyers, claims, documents)

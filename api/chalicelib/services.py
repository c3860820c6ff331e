"""The stores, the documents bucket, the buyer register and the account directory of this process, built on first use from the settings.

Tests may install other implementations with :func:`install`.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import config
from .accounts import AccountDirectory, CognitoAccounts
from .claim_storage import ClaimStore, DynamoClaimStore
from .document_storage import DocumentFiles, S3DocumentFiles
from .prevention_storage import (
    AlertStore,
    BuyerRegister,
    BuyerStore,
    DynamoAlertStore,
    DynamoBuyerRegister,
    DynamoBuyerStore,
    DynamoLimitRequestStore,
    LimitRequestStore,
)
from .storage import (
    DynamoIdempotencyStore,
    DynamoPolicyStore,
    DynamoQuoteStore,
    IdempotencyStore,
    PolicyStore,
    QuoteStore,
)

__all__ = ["Services", "get", "install", "reset"]


@dataclass(frozen=True)
class Services:
    """Everything the business code reaches outside the process."""

    quotes: QuoteStore
    policies: PolicyStore
    idempotency: IdempotencyStore
    accounts: AccountDirectory
    buyers: BuyerStore
    limit_requests: LimitRequestStore
    register: BuyerRegister
    alerts: AlertStore
    claims: ClaimStore
    files: DocumentFiles


_current: Services | None = None


def get() -> Services:
    """The services (DynamoDB and Cognito unless :func:`install` was called)."""
    global _current
    if _current is None:
        s = config.settings()
        _current = Services(
            quotes=DynamoQuoteStore(s.quotes_table),
            policies=DynamoPolicyStore(s.policies_table, s.quotes_table),
            idempotency=DynamoIdempotencyStore(s.idempotency_table),
            accounts=CognitoAccounts(s.user_pool_id),
            buyers=(buyers := DynamoBuyerStore(s.buyers_table)),
            limit_requests=DynamoLimitRequestStore(s.limit_requests_table, buyers),
            register=DynamoBuyerRegister(s.buyer_register_table),
            alerts=DynamoAlertStore(s.alerts_table),
            claims=DynamoClaimStore(s.claims_table, s.policy_years_table),
            files=S3DocumentFiles(s.documents_bucket),
        )
    return _current


def install(services: Services) -> None:
    """Use ``services`` from now on."""
    global _current
    _current = services


def reset() -> None:
    """Build the services again on next use."""
    global _current
    _current = None

"""Owner accounts in the Cognito user pool (admin API; the owner chose the password).

The username is the e-mail address, so the owner logs in with it right
after subscribing; no invitation e-mail is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from . import config

__all__ = ["Account", "AccountDirectory", "AccountExists", "CognitoAccounts", "WeakPassword"]


class AccountExists(Exception):
    """An account already uses this e-mail address."""


class WeakPassword(Exception):
    """The pool's password policy refused the password."""


@dataclass(frozen=True)
class Account:
    """A user of the pool: its ``sub`` and Cognito status."""

    sub: str
    status: str


class AccountDirectory(Protocol):
    """What subscriptions need from the identity provider."""

    def find(self, email: str) -> Account | None:
        """The account of ``email``, or ``None``."""

    def create_owner(self, email: str, first_name: str, last_name: str) -> Account:
        """A new account without password; :class:`AccountExists` if taken."""

    def set_password(self, email: str, password: str) -> None:
        """Set the permanent password; :class:`WeakPassword` if refused."""

    def add_to_group(self, email: str, group: str) -> None:
        """Add the account to ``group`` (no-op if already in it)."""

    def groups(self, email: str) -> list[str]:
        """The groups of the account."""


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class CognitoAccounts:
    """:class:`AccountDirectory` on a Cognito user pool."""

    def __init__(self, user_pool_id: str) -> None:
        self.pool = user_pool_id

    def find(self, email: str) -> Account | None:
        """``AdminGetUser``; ``None`` when the user does not exist."""
        from botocore.exceptions import ClientError

        try:
            user = config.client("cognito-idp").admin_get_user(UserPoolId=self.pool, Username=email)
        except ClientError as exc:
            if _code(exc) == "UserNotFoundException":
                return None
            raise
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        return Account(sub=attributes.get("sub", ""), status=str(user.get("UserStatus", "")))

    def create_owner(self, email: str, first_name: str, last_name: str) -> Account:
        """``AdminCreateUser`` with a verified e-mail and no message sent."""
        from botocore.exceptions import ClientError

        try:
            response = config.client("cognito-idp").admin_create_user(
                UserPoolId=self.pool,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "given_name", "Value": first_name},
                    {"Name": "family_name", "Value": last_name},
                ],
                MessageAction="SUPPRESS",
            )
        except ClientError as exc:
            if _code(exc) == "UsernameExistsException":
                raise AccountExists(email) from None
            raise
        user = response["User"]
        attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        sub = attributes.get("sub")
        if not sub:
            found = self.find(email)
            sub = found.sub if found else ""
        return Account(sub=sub, status=str(user.get("UserStatus", "")))

    def set_password(self, email: str, password: str) -> None:
        """``AdminSetUserPassword`` (permanent)."""
        from botocore.exceptions import ClientError

        try:
            config.client("cognito-idp").admin_set_user_password(
                UserPoolId=self.pool, Username=email, Password=password, Permanent=True
            )
        except ClientError as exc:
            if _code(exc) == "InvalidPasswordException":
                raise WeakPassword(email) from None
            raise

    def add_to_group(self, email: str, group: str) -> None:
        """``AdminAddUserToGroup``."""
        config.client("cognito-idp").admin_add_user_to_group(
            UserPoolId=self.pool, Username=email, GroupName=group
        )

    def groups(self, email: str) -> list[str]:
        """``AdminListGroupsForUser`` (first page: the pool has three groups)."""
        response = config.client("cognito-idp").admin_list_groups_for_user(
            UserPoolId=self.pool, Username=email
        )
        return [g["GroupName"] for g in response.get("Groups", [])]

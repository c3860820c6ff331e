"""Pydantic v2 models at the edge: request bodies, responses, and French validation errors.

Profile and options keep the engine's JSON names; the models check their
shape only, the engine checks the values (bounds depend on formula and
tariff) and the raw JSON reaches it unchanged. The OpenAPI document is
generated from these models.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .errors import FieldError

__all__ = [
    "SEPA_COUNTRIES",
    "ErrorResponse",
    "GatewayError",
    "HealthOut",
    "OptionsIn",
    "PolicyList",
    "PolicyOut",
    "ProfileIn",
    "QuoteIn",
    "QuoteList",
    "QuoteOut",
    "SubscriptionIn",
    "field_errors",
    "mask_email",
]

# Countries of the SEPA direct-debit scheme (EU, EEA and associated states).
SEPA_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GB",
        "GI",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MC",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "SM",
        "VA",
        "AD",
    ]
)
_NUMBER_TEXT = re.compile(r"^\s*-?\d+(?:[.,]\d+)?\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def _number(value: Any) -> Any:
    """A JSON number or a decimal string; the engine checks the bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("doit être un nombre")
    if isinstance(value, str) and not _NUMBER_TEXT.match(value):
        raise ValueError("doit être un nombre")
    return value


Number = Annotated[
    Any,
    PlainValidator(_number),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d+([.,]\d+)?$"}]}),
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_CONTROL)
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_CONTROL)
]


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("adresse e-mail invalide")
    return value


Email = Annotated[
    str,
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]


class _In(BaseModel):
    """Input: unknown fields are refused, never ignored."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class ExportIn(_In):
    """Shares of credit sales made abroad (fractions of 1)."""

    eu: Number | None = Field(None, description="Part des ventes à crédit dans l'Union européenne.")
    world: Number | None = Field(None, description="Part des ventes à crédit dans le reste du monde.")


class TopBuyerIn(_In):
    """One of the main clients."""

    name: str = Field(description="Nom du client.")
    share: Number = Field(description="Part du chiffre d'affaires (fraction de 1).")
    grade: int | None = Field(None, description="Note de solvabilité de 1 (meilleure) à 10.")
    zone: str | None = Field(None, description="france, eu ou world.")


class ProfileIn(_In):
    """The business profile, with the engine's JSON names; the engine checks the values."""

    turnover: Number = Field(description="Chiffre d'affaires annuel hors taxes, en euros.")
    sector: str = Field(description="Secteur d'activité (codes du tarif : services, it, wholesale…).")
    b2b_share: Number | None = Field(None, description="Part des ventes à crédit aux entreprises.")
    public_share: Number | None = Field(None, description="Part des ventes aux acheteurs publics.")
    export: ExportIn | None = None
    buyers_count: int | None = Field(None, description="Nombre de clients.")
    top_buyers: list[TopBuyerIn] | None = Field(None, max_length=50, description="Principaux clients.")
    payment_terms_days: int | None = Field(None, description="Délai de paiement accordé, en jours.")
    past_losses: Number | None = Field(None, description="Impayés des 3 dernières années, en euros.")
    company_age_years: Number | None = Field(None, description="Âge de l'entreprise, en années.")


class OptionsIn(_In):
    """Options of the chosen formula, with the engine's JSON names."""

    formula: str | None = Field(None, description="essentielle, selection ou tout_compris.")
    indemnity_pct: Number | None = Field(None, description="Quotité garantie, en %.")
    deductible: Number | None = Field(None, description="Franchise, en euros.")
    liability_multiple: Number | None = Field(
        None, description="Plafond d'indemnisation, en multiple de la prime."
    )
    automatic_threshold: Number | None = Field(
        None, description="Seuil de la garantie automatique, en euros."
    )
    collection: bool | None = Field(None, description="Service de recouvrement.")
    litigation: bool | None = Field(None, description="Assistance juridique.")
    export_cover: str | None = Field(None, description="none, eu ou world.")
    public_buyers: bool | None = Field(None, description="Couverture des acheteurs publics.")
    named_buyers: list[str] | None = Field(None, max_length=50, description="Clients dénommés.")
    payment: str | None = Field(None, description="annual ou monthly.")


class QuoteIn(_In):
    """A quote request: the simulated profile and options, and how to reach the prospect."""

    profile: ProfileIn
    options: OptionsIn | None = None
    contact_email: Email = Field(description="Adresse e-mail du dirigeant.")
    broker_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Courtier dont le simulateur a produit le devis."
    )


def _siren(value: str) -> str:
    from stdnum.exceptions import ValidationError as StdnumError
    from stdnum.fr import siren

    try:
        number = siren.validate(value)
    except StdnumError:
        raise ValueError("numéro SIREN invalide (9 chiffres, clé de contrôle)") from None
    if number[0] in "12":
        raise ValueError("les organismes publics (SIREN commençant par 1 ou 2) ne peuvent pas souscrire")
    return str(number)


def _siret(value: str) -> str:
    from stdnum.exceptions import ValidationError as StdnumError
    from stdnum.fr import siret

    try:
        return str(siret.validate(value))
    except StdnumError:
        raise ValueError("numéro SIRET invalide (14 chiffres, clé de contrôle)") from None


def _iban(value: str) -> str:
    from stdnum import iban
    from stdnum.exceptions import ValidationError as StdnumError

    try:
        number = str(iban.validate(value))
    except StdnumError:
        raise ValueError("IBAN invalide") from None
    if number[:2] not in SEPA_COUNTRIES:
        raise ValueError("l'IBAN doit être celui d'un compte de la zone SEPA")
    return number


Siren = Annotated[str, AfterValidator(_siren), WithJsonSchema({"type": "string", "examples": ["732829320"]})]
Siret = Annotated[
    str, AfterValidator(_siret), WithJsonSchema({"type": "string", "examples": ["73282932000074"]})
]
Iban = Annotated[
    str,
    AfterValidator(_iban),
    WithJsonSchema(
        {
            "type": "string",
            "description": "IBAN d'un compte de la zone SEPA ; seuls les 4 derniers caractères sont réaffichés.",
        }
    ),
]


class AddressIn(_In):
    """A French postal address."""

    line1: Text
    line2: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=_NO_CONTROL)] | None
    ) = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}$")]
    city: ShortText
    country: Literal["FR"] = "FR"


class CompanyIn(_In):
    """The subscribing company."""

    siren: Siren
    siret: Siret | None = Field(None, description="SIRET du siège, facultatif.")
    legal_name: Text = Field(description="Raison sociale.")
    address: AddressIn

    @model_validator(mode="after")
    def _siret_of_siren(self) -> CompanyIn:
        if self.siret is not None and not self.siret.startswith(self.siren):
            raise ValueError("siret: le SIRET doit commencer par le SIREN")
        return self


class ContactIn(_In):
    """The person who subscribes and will log in."""

    first_name: ShortText
    last_name: ShortText
    email: Email


def _password(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if (
        not 12 <= len(text) <= 128
        or text != text.strip()
        or not re.search(r"[a-z]", text)
        or not re.search(r"[A-Z]", text)
        or not re.search(r"\d", text)
        or not re.search(r"[^A-Za-z0-9\s]", text)
    ):
        raise ValueError(
            "le mot de passe doit compter de 12 à 128 caractères, dont une minuscule, une majuscule, "
            "un chiffre et un caractère spécial, sans espace au début ni à la fin"
        )
    return value


class SubscriptionIn(_In):
    """An online subscription from a requested quote."""

    quote_id: str = Field(min_length=1, max_length=100, description="Identifiant du devis.")
    company: CompanyIn
    contact: ContactIn
    iban: Iban
    start_date: dt.date = Field(description="Date d'effet : d'aujourd'hui à 90 jours.")
    accept_terms: bool = Field(
        description="Acceptation des conditions générales (doit valoir true).",
        json_schema_extra={"const": True},
    )
    password: Annotated[SecretStr, AfterValidator(_password)] = Field(
        description="Mot de passe choisi pour l'espace assuré (12 caractères au moins)."
    )

    @field_validator("accept_terms")
    @classmethod
    def _accepted(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("vous devez accepter les conditions générales")
        return value


# Responses.


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class PremiumOut(_Out):
    """Annual premium in euros (decimal strings)."""

    net: str
    fees: str
    tax: str
    total: str
    monthly: str


class EngineRequestOut(_Out):
    """The request as priced by the engine."""

    profile: dict[str, Any]
    options: dict[str, Any]


class QuoteOut(_Out):
    """A stored quote: its request, frozen result and terms, validity."""

    quote_id: str
    status: Literal["requested", "accepted", "expired"]
    created_at: dt.datetime
    expires_at: dt.datetime
    tariff_version: str
    formula: str
    premium: PremiumOut
    contact_email: str = Field(description="Adresse e-mail, masquée sauf pour les gestionnaires.")
    broker_id: str | None = None
    request: EngineRequestOut
    result: dict[str, Any] = Field(
        description="Résultat figé du moteur (op quote), conditions (terms) comprises."
    )


class Page(_Out):
    """A page of a listing; pass ``next_token`` back to read the next one."""

    next_token: str | None = Field(None, description="Jeton opaque de la page suivante, absent à la fin.")


class QuoteList(Page):
    """A page of quotes."""

    items: list[QuoteOut]


class AddressOut(_Out):
    """A postal address."""

    line1: str
    line2: str | None = None
    postal_code: str
    city: str
    country: str


class CompanyOut(_Out):
    """The insured company."""

    siren: str
    siret: str | None = None
    legal_name: str
    address: AddressOut


class ContactOut(_Out):
    """The policyholder's contact person."""

    first_name: str
    last_name: str
    email: str


class MandateOut(_Out):
    """The SEPA direct-debit mandate for the premium (no payment is taken here)."""

    reference: str
    signed_on: dt.date
    scheme: Literal["SEPA CORE"]
    iban_masked: str


class PolicyOut(_Out):
    """A policy: 12 months from its start date, tacit renewal, terms frozen from the quote."""

    policy_id: str
    policy_number: str
    status: Literal["pending_account", "active"]
    quote_id: str
    formula: str
    formula_label: str
    tariff_version: str
    created_at: dt.datetime
    start_date: dt.date
    end_date: dt.date
    renewal: Literal["tacite"]
    notice_months: int
    company: CompanyOut
    contact: ContactOut
    iban_masked: str = Field(description="IBAN des indemnités : seuls les 4 derniers caractères.")
    premium: PremiumOut
    terms: dict[str, Any]
    mandate: MandateOut
    broker_id: str | None = None


class PolicyList(Page):
    """A page of policies."""

    items: list[PolicyOut]


class HealthOut(_Out):
    """Liveness."""

    status: Literal["ok"]
    stage: str
    tariff_version: str
    tariff_versions: list[str]


class ErrorFieldOut(_Out):
    """One input at fault."""

    path: str = Field(description="Chemin pointé du champ, par exemple profile.turnover.")
    message: str


class ErrorDetail(_Out):
    """What went wrong."""

    code: str
    message: str = Field(description="Message en français.")
    fields: list[ErrorFieldOut]


class ErrorResponse(_Out):
    """Every error answers this document."""

    error: ErrorDetail


class GatewayError(_Out):
    """401 written by the gateway itself when the Authorization header is missing.

    API Gateway and ``chalice local`` refuse such a request before any code of the API
    runs; on AWS a gateway response can give it the ErrorResponse shape instead.
    """

    message: str


# French messages for pydantic errors.

_MESSAGES = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "string_type": "doit être une chaîne de caractères",
    "string_pattern_mismatch": "format invalide",
    "bool_type": "doit être true ou false",
    "bool_parsing": "doit être true ou false",
    "int_type": "doit être un nombre entier",
    "int_parsing": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "date_type": "doit être une date au format AAAA-MM-JJ",
    "date_parsing": "doit être une date au format AAAA-MM-JJ",
    "date_from_datetime_parsing": "doit être une date au format AAAA-MM-JJ",
    "date_from_datetime_inexact": "doit être une date au format AAAA-MM-JJ",
    "model_type": "doit être un objet JSON",
    "model_attributes_type": "doit être un objet JSON",
    "dict_type": "doit être un objet JSON",
    "list_type": "doit être une liste",
}


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", "valeur invalide"))
    if kind == "string_too_short":
        return (
            "ne doit pas être vide"
            if ctx.get("min_length") == 1
            else f"au moins {ctx.get('min_length')} caractères"
        )
    if kind == "string_too_long":
        return f"au plus {ctx.get('max_length')} caractères"
    if kind == "too_long":
        return f"au plus {ctx.get('max_length')} éléments"
    if kind == "literal_error":
        return f"valeur inconnue ; valeur possible : {ctx.get('expected', '')}".replace("'", "")
    return _MESSAGES.get(kind, "valeur invalide")


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def field_errors(exc: ValidationError) -> list[FieldError]:
    """French field errors of a pydantic ``ValidationError``, one per path, input never echoed."""
    seen: dict[str, FieldError] = {}
    for error in exc.errors(include_url=False, include_input=False):
        message = _message(error)
        path = _path(error["loc"])
        if ": " in message and error["type"] == "value_error" and message.split(": ", 1)[0].isidentifier():
            # A model validator names the sub-field at fault: "siret: ...".
            sub, message = message.split(": ", 1)
            path = f"{path}.{sub}" if path else sub
        seen.setdefault(path, FieldError(path, message))
    return list(seen.values())


def mask_email(email: str) -> str:
    """``jeanne.dupont@example.fr`` -> ``j***@example.fr``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"

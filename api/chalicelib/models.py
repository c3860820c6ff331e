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


def _checked(module: str, value: str, message: str) -> str:
    """``value`` normalised by python-stdnum's ``module``, or a ValueError with our French ``message``."""
    from importlib import import_module

    from stdnum.exceptions import ValidationError as StdnumError

    try:
        return str(import_module(f"stdnum.{module}").validate(value))
    except StdnumError:
        raise ValueError(message) from None


_SIREN_INVALID = "numéro SIREN invalide (9 chiffres, clé de contrôle)"


def _siren(value: str) -> str:
    number = _checked("fr.siren", value, _SIREN_INVALID)
    if number[0] in "12":
        raise ValueError("les organismes publics (SIREN commençant par 1 ou 2) ne peuvent pas souscrire")
    return str(number)


def _siret(value: str) -> str:
    return _checked("fr.siret", value, "numéro SIRET invalide (14 chiffres, clé de contrôle)")


def _iban(value: str) -> str:
    number = _checked("iban", value, "IBAN invalide")
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
    if kind in ("greater_than_equal", "greater_than"):
        return f"doit être au moins {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"doit être au plus {ctx.get('le', ctx.get('lt'))}"
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


# Prevention (buyers, credit limits, register, alerts) and claims.

MAX_MONEY = Decimal("100000000")
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
_MONEY_TEXT = re.compile(r"^\s*\d+(?:[.,]\d{1,2})?\s*$")


def _money(value: Any) -> Decimal:
    """A positive amount in euros, to the cent, as a JSON number or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("doit être un montant en euros")
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else str(value)
    if isinstance(value, str) and not _MONEY_TEXT.match(value):
        raise ValueError("doit être un montant en euros, au centime près")
    try:
        amount = Decimal(text)
    except ArithmeticError:
        raise ValueError("doit être un montant en euros") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_MONEY:
        raise ValueError(f"doit être supérieur à 0 et au plus {MAX_MONEY} euros")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("au centime près (2 décimales au plus)")
    return amount.quantize(Decimal("0.01"))


Money = Annotated[
    Decimal,
    PlainValidator(_money),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 100000000},
                {"type": "string", "pattern": r"^\d+([.,]\d{1,2})?$"},
            ],
            "description": "Montant en euros.",
        }
    ),
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=_NO_CONTROL)
]
Country = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]


def _buyer_siren(value: str) -> str:
    return _checked("fr.siren", value, _SIREN_INVALID)


def _vat(value: str) -> str:
    number = _checked("eu.vat", value, "numéro de TVA intracommunautaire invalide")
    if number.startswith("FR"):
        raise ValueError("pour un client français, indiquez son SIREN")
    return number


def vat_country(number: str) -> str:
    """ISO country of an EU VAT number (Greece's prefix is EL)."""
    return "GR" if number[:2] == "EL" else number[:2]


BuyerSiren = Annotated[
    str, AfterValidator(_buyer_siren), WithJsonSchema({"type": "string", "examples": ["552100554"]})
]
VatNumber = Annotated[
    str, AfterValidator(_vat), WithJsonSchema({"type": "string", "examples": ["DE136695976"]})
]


class BuyerIn(_In):
    """A buyer to name on the policy: a French company (SIREN) or a foreign one (VAT number)."""

    siren: BuyerSiren | None = Field(None, description="SIREN d'un client français.")
    vat_number: VatNumber | None = Field(
        None, description="Numéro de TVA intracommunautaire d'un client étranger."
    )
    name: Text = Field(description="Raison sociale du client.")
    country: Country = Field("FR", description="Pays du client (code ISO à 2 lettres).")

    @model_validator(mode="after")
    def _one_identifier(self) -> BuyerIn:
        if (self.siren is None) == (self.vat_number is None):
            raise ValueError("siren: indiquez soit le SIREN, soit le numéro de TVA")
        if self.siren is not None and self.country != "FR":
            raise ValueError("country: un client identifié par son SIREN est en France (FR)")
        if self.vat_number is not None and vat_country(self.vat_number) != self.country:
            raise ValueError("country: le pays ne correspond pas au numéro de TVA")
        return self


class LimitRequestIn(_In):
    """A credit-limit request on a named buyer."""

    amount: Money = Field(description="Limite de crédit demandée, en euros.")


class LimitDecisionIn(_In):
    """A staff decision on a referred request."""

    decision: Literal["approved", "partly_approved", "refused"]
    amount: Money | None = Field(None, description="Montant accordé (obligatoire pour un accord partiel).")
    reason: Reason = Field(description="Motif, communiqué à l'assuré.")


class LimitReduceIn(_In):
    """Reduce a limit for deliveries from the notice date."""

    amount: Money = Field(description="Nouvelle limite, en euros, inférieure à l'actuelle.")
    notice_date: dt.date = Field(
        description="Livraisons concernées à partir de cette date (aujourd'hui ou plus tard)."
    )
    reason: Reason


class LimitCancelIn(_In):
    """Cancel a limit for deliveries from the notice date."""

    notice_date: dt.date = Field(
        description="Livraisons concernées à partir de cette date (aujourd'hui ou plus tard)."
    )
    reason: Reason


class RegisterIn(_In):
    """A company of the buyer register."""

    name: Text
    country: Country = "FR"
    grade: int | None = Field(None, ge=1, le=10, description="Note de 1 (meilleure) à 10.")


class RegisterEventIn(_In):
    """A monitoring event on a buyer."""

    type: Literal["payment_incident", "insolvency_judgment"]
    date: dt.date
    kind: Literal["sauvegarde", "redressement", "liquidation"] | None = Field(
        None, description="Procédure collective (obligatoire pour un jugement)."
    )

    @model_validator(mode="after")
    def _kind(self) -> RegisterEventIn:
        if self.type == "insolvency_judgment" and self.kind is None:
            raise ValueError("kind: précisez la procédure : sauvegarde, redressement ou liquidation")
        if self.type == "payment_incident" and self.kind is not None:
            raise ValueError("kind: réservé aux jugements d'ouverture")
        return self


class EventIn(_In):
    """What happened to the debtor."""

    type: Literal["insolvency", "protracted_default"]
    date: dt.date | None = Field(None, description="Date du jugement (obligatoire pour insolvency).")

    @model_validator(mode="after")
    def _date(self) -> EventIn:
        if self.type == "insolvency" and self.date is None:
            raise ValueError("date: la date du jugement est obligatoire")
        return self


class DeclarationIn(_In):
    """An overdue invoice declared by the owner."""

    invoice_number: ShortText
    invoice_date: dt.date
    due_date: dt.date
    amount: Money = Field(description="Montant impayé de la facture, en euros.")
    vat_included: bool = Field(description="Le montant comprend-il la TVA ?")
    buyer_id: ShortText = Field(description="Client désigné sur le contrat.")
    extension_days: int = Field(0, ge=0, le=365, description="Prorogation d'échéance accordée, en jours.")
    event: EventIn | None = Field(None, description="Jugement d'ouverture connu ; sinon impayé prolongé.")


class RecoveryIn(_In):
    """An amount recovered from the debtor."""

    amount: Money
    date: dt.date


class RejectIn(_In):
    """Why a claim is rejected."""

    reason: Reason


class LimitStepOut(_Out):
    """One step of a credit limit (append-only)."""

    kind: Literal["approved", "partly_approved", "refused", "reduced", "cancelled"]
    amount: str
    effective_from: dt.date
    at: dt.datetime
    by_role: Literal["system", "staff"]
    rule: str | None = None
    reason: str | None = None
    request_id: str | None = None


class BuyerOut(_Out):
    """A buyer named on a policy and its credit limit."""

    policy_id: str
    buyer_id: str
    identifier: str
    identifier_type: Literal["siren", "vat"]
    name: str
    country: str
    zone: Literal["france", "eu", "world"]
    public: bool
    created_at: dt.datetime
    current_limit: str | None = Field(None, description="Limite applicable aux livraisons du jour.")
    limits: list[LimitStepOut]


class BuyerList(_Out):
    """The buyers of a policy."""

    items: list[BuyerOut]


class LimitRequestOut(_Out):
    """A credit-limit request and its decision."""

    request_id: str
    policy_id: str
    buyer_id: str
    buyer_name: str
    amount: str
    status: Literal["referred", "approved", "partly_approved", "refused"]
    rule: str = Field(description="automatic_threshold, good_grade ou referred.")
    grade: int | None = None
    created_at: dt.datetime
    decided_amount: str | None = None
    decided_at: dt.datetime | None = None
    reason: str | None = None


class LimitRequestList(Page):
    """A page of limit requests, oldest first."""

    items: list[LimitRequestOut]


class RegisterEventOut(_Out):
    """A monitoring event."""

    type: Literal["payment_incident", "insolvency_judgment"]
    date: dt.date
    kind: str | None = None
    recorded_at: dt.datetime


class RegisterEntryOut(_Out):
    """A company of the buyer register."""

    identifier: str
    name: str
    country: str
    grade: int | None = None
    updated_at: dt.datetime
    events: list[RegisterEventOut]


class RegisterEventResult(_Out):
    """The register after an event, and how many owners were alerted."""

    entry: RegisterEntryOut
    alerts_sent: int


class AlertOut(_Out):
    """A monitoring alert on one of the owner's buyers."""

    alert_id: str
    created_at: dt.datetime
    policy_id: str
    buyer_id: str
    buyer_name: str
    event: RegisterEventOut
    message: str


class AlertList(Page):
    """A page of alerts, newest first."""

    items: list[AlertOut]


class ReasonOut(_Out):
    """A reason given by the engine."""

    code: str
    blocking: bool
    message: str


class HistoryOut(_Out):
    """One step of a claim's history (append-only)."""

    at: dt.datetime
    by_role: Literal["owner", "staff", "system"]
    by: str
    action: str
    status: str
    detail: dict[str, Any] = Field(default_factory=dict)


class RecoveryOut(_Out):
    """A recovery; after an indemnity it is shared at the indemnity percentage."""

    amount: str
    date: dt.date
    recorded_at: dt.datetime
    after_indemnity: bool
    insurer_share: str
    owner_share: str


class ClaimOut(_Out):
    """An overdue declaration and its claim."""

    claim_id: str
    policy_id: str
    buyer_id: str
    buyer_name: str
    status: Literal["collection", "recovered", "claim_established", "indemnified", "rejected"]
    created_at: dt.datetime
    declared_on: dt.date
    policy_year: dt.date = Field(description="Début de l'année d'assurance de la facture.")
    invoice: dict[str, Any]
    eligible: bool
    reasons: list[ReasonOut]
    timeline: dict[str, Any]
    recovered: str
    recoveries: list[RecoveryOut]
    indemnity: str | None = None
    settlement: dict[str, Any] | None = Field(
        None, description="Résultat du moteur (op settle) au règlement."
    )
    rejection_reason: str | None = None
    history: list[HistoryOut]


class ClaimList(Page):
    """A page of claims, newest first."""

    items: list[ClaimOut]


# Claim documents.

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_KINDS = ("invoice", "reminder", "formal_notice", "court_paper")
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
DocumentKind = Literal["invoice", "reminder", "formal_notice", "court_paper"]
DocumentType = Literal["application/pdf", "image/jpeg", "image/png"]
FileName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f/\\]*$"),
]


class DocumentIn(_In):
    """A document the owner (or staff) is about to upload to a claim."""

    kind: DocumentKind = Field(
        description="invoice (facture), reminder (relance), formal_notice (mise en demeure), "
        "court_paper (pièce judiciaire)."
    )
    filename: FileName = Field(description="Nom du fichier, sans chemin.")
    content_type: DocumentType = Field(description="PDF, JPEG ou PNG.")
    size: int = Field(ge=1, le=MAX_DOCUMENT_BYTES, description="Taille en octets (10 Mo au plus).")


class DocumentOut(_Out):
    """A document of a claim: pending until its upload is checked, then accepted or rejected."""

    document_id: str
    claim_id: str
    kind: DocumentKind
    filename: str
    content_type: DocumentType
    size: int = Field(description="Taille déclarée, puis taille réelle une fois vérifiée.")
    status: Literal["pending", "accepted", "rejected"]
    created_at: dt.datetime
    created_by_role: Literal["owner", "staff"]
    checked_at: dt.datetime | None = None
    rejection_reason: str | None = None


class UploadFormOut(_Out):
    """The presigned POST: send ``fields`` then the file (field ``file``) as multipart/form-data to ``url``."""

    url: str
    fields: dict[str, str]
    expires_at: dt.datetime
    max_bytes: int


class DocumentUploadOut(_Out):
    """The pending document and where to upload it."""

    document: DocumentOut
    upload: UploadFormOut


class DocumentList(_Out):
    """The documents of a claim, oldest first."""

    items: list[DocumentOut]


class DownloadOut(_Out):
    """A presigned GET of an accepted document."""

    url: str
    expires_in: int = Field(description="Durée de validité du lien, en secondes (900 au plus).")
    expires_at: dt.datetime

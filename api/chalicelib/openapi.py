"""The OpenAPI 3.1 document, generated from the pydantic models.

Operations are listed here once; a test checks that they are exactly the
routes of the app.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from . import models

__all__ = ["OPERATIONS", "Operation", "document"]

ERRORS = {
    400: "Requête illisible (JSON invalide, paramètre invalide).",
    401: "Authentification requise : jeton absent, invalide ou expiré.",
    403: "Profil sans le droit requis.",
    404: "Introuvable (ou appartenant à un autre assuré).",
    409: "Conflit avec l'état actuel (devis déjà souscrit ou expiré, clé d'idempotence réutilisée, "
    "demande déjà décidée, dossier dans un autre statut).",
    422: "Champs invalides : chaque champ fautif est nommé dans fields.",
    503: "Service indisponible : rien n'a été enregistré à moitié, réessayez.",
}


@dataclass(frozen=True)
class Operation:
    """One documented route."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    groups: tuple[str, ...] | None = None
    errors: tuple[int, ...] = (503,)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    media_type: str = "application/json"
    description: str = ""


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


PAGE = [
    _query(
        "limit",
        "Nombre d'éléments par page (1 à 100, 20 par défaut).",
        {"type": "integer", "minimum": 1, "maximum": 100},
    ),
    _query(
        "next_token", "Jeton de la page suivante, tel que rendu par la page précédente.", {"type": "string"}
    ),
]

OPERATIONS = (
    Operation("GET", "/health", "health", "État du service", "Service", models.HealthOut, errors=()),
    Operation(
        "GET",
        "/openapi.json",
        "openapi",
        "Ce document OpenAPI 3.1",
        "Service",
        None,
        errors=(),
        description="Généré à partir des modèles pydantic de l'API.",
    ),
    Operation(
        "POST",
        "/quotes",
        "createQuote",
        "Demander un devis",
        "Devis",
        models.QuoteOut,
        201,
        models.QuoteIn,
        errors=(400, 422, 503),
        description="Le serveur recalcule la prime avec le moteur et la version de tarif en vigueur ; "
        "aucun prix envoyé par le client n'est pris en compte. Le devis est valable 30 jours.",
    ),
    Operation(
        "GET",
        "/quotes",
        "listQuotes",
        "Lister les devis (gestionnaires)",
        "Devis",
        models.QuoteList,
        groups=("staff",),
        errors=(400, 401, 403, 503),
        parameters=[
            _query(
                "status",
                "Statut des devis (requested par défaut).",
                {"type": "string", "enum": ["requested", "accepted", "expired"]},
            ),
            *PAGE,
        ],
    ),
    Operation(
        "GET",
        "/quotes/{quote_id}",
        "getQuote",
        "Lire un devis",
        "Devis",
        models.QuoteOut,
        errors=(404, 503),
        parameters=[_path("quote_id", "Identifiant du devis, impossible à deviner.")],
    ),
    Operation(
        "POST",
        "/subscriptions",
        "subscribe",
        "Souscrire en ligne à partir d'un devis",
        "Souscription",
        models.PolicyOut,
        201,
        models.SubscriptionIn,
        errors=(400, 404, 409, 422, 503),
        parameters=[
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Clé choisie par le client : une demande répétée avec la même clé rend le même contrat. "
                "Sans clé, le contenu de la demande sert de clé.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,128}$"},
            }
        ],
        description="Crée le contrat et marque le devis souscrit en une transaction, ouvre l'espace assuré "
        "(groupe owners) avec le mot de passe choisi et enregistre le mandat de prélèvement SEPA. "
        "En cas d'échec après l'enregistrement du contrat (503 account_pending), renvoyer la même demande.",
    ),
    Operation(
        "GET",
        "/me/policies",
        "listMyPolicies",
        "Mes contrats",
        "Contrats",
        models.PolicyList,
        groups=("owners",),
        errors=(400, 401, 403, 503),
        parameters=PAGE,
    ),
    Operation(
        "GET",
        "/policies",
        "listPolicies",
        "Lister les contrats (gestionnaires)",
        "Contrats",
        models.PolicyList,
        groups=("staff",),
        errors=(400, 401, 403, 503),
        parameters=[
            _query(
                "status",
                "Statut des contrats (active par défaut).",
                {"type": "string", "enum": ["active", "pending_account"]},
            ),
            *PAGE,
        ],
    ),
    Operation(
        "GET",
        "/policies/{policy_id}",
        "getPolicy",
        "Lire un contrat",
        "Contrats",
        models.PolicyOut,
        groups=("owners", "staff"),
        errors=(401, 403, 404, 503),
        parameters=[_path("policy_id", "Numéro du contrat, par exemple AC-2026-004217.")],
    ),
    Operation(
        "GET",
        "/policies/{policy_id}/attestation",
        "getAttestation",
        "Attestation d'assurance imprimable",
        "Contrats",
        None,
        groups=("owners", "staff"),
        errors=(401, 403, 404, 503),
        parameters=[_path("policy_id", "Numéro du contrat.")],
        media_type="text/html",
        description="Page HTML en français, prête à imprimer (CSS d'impression), à présenter par exemple à la banque.",
    ),
)


POLICY = _path("policy_id", "Numéro du contrat.")
BUYER = _path("buyer_id", "Identifiant du client sur le contrat (SIREN ou numéro de TVA).")
CLAIM = _path("claim_id", "Identifiant du dossier de sinistre.")
IDENTIFIER = _path("identifier", "SIREN ou numéro de TVA intracommunautaire de l'entreprise.")
STAFF_ERRORS = (400, 401, 403, 404, 409, 422, 503)

OPERATIONS += (
    Operation(
        "POST",
        "/policies/{policy_id}/buyers",
        "addBuyer",
        "Désigner un client",
        "Clients et limites",
        models.BuyerOut,
        201,
        models.BuyerIn,
        groups=("owners",),
        errors=(400, 401, 403, 404, 409, 422, 503),
        parameters=[POLICY],
        description="SIREN vérifié (clé de contrôle) ou numéro de TVA intracommunautaire. Les organismes publics "
        "(SIREN commençant par 1 ou 2) sont refusés sauf si le contrat couvre les acheteurs publics.",
    ),
    Operation(
        "GET",
        "/policies/{policy_id}/buyers",
        "listBuyers",
        "Clients désignés et leurs limites",
        "Clients et limites",
        models.BuyerList,
        groups=("owners", "staff"),
        errors=(401, 403, 404, 503),
        parameters=[POLICY],
    ),
    Operation(
        "POST",
        "/policies/{policy_id}/buyers/{buyer_id}/limit-requests",
        "requestLimit",
        "Demander une limite de crédit",
        "Clients et limites",
        models.LimitRequestOut,
        201,
        models.LimitRequestIn,
        groups=("owners",),
        errors=(400, 401, 403, 404, 409, 422, 503),
        parameters=[POLICY, BUYER],
        description="Accordée d'office dans le seuil de garantie automatique du contrat ou pour un client bien "
        "noté au registre (note et plafond configurables) ; sinon transmise à un gestionnaire (referred).",
    ),
    Operation(
        "POST",
        "/policies/{policy_id}/buyers/{buyer_id}/limit/reduce",
        "reduceLimit",
        "Réduire une limite (gestionnaires)",
        "Clients et limites",
        models.BuyerOut,
        body=models.LimitReduceIn,
        groups=("staff",),
        errors=STAFF_ERRORS,
        parameters=[POLICY, BUYER],
        description="Pour les livraisons à partir de la date de préavis ; les livraisons antérieures restent couvertes.",
    ),
    Operation(
        "POST",
        "/policies/{policy_id}/buyers/{buyer_id}/limit/cancel",
        "cancelLimit",
        "Résilier une limite (gestionnaires)",
        "Clients et limites",
        models.BuyerOut,
        body=models.LimitCancelIn,
        groups=("staff",),
        errors=STAFF_ERRORS,
        parameters=[POLICY, BUYER],
    ),
    Operation(
        "GET",
        "/limit-requests",
        "listLimitRequests",
        "File des demandes de limite (gestionnaires)",
        "Clients et limites",
        models.LimitRequestList,
        groups=("staff",),
        errors=(400, 401, 403, 503),
        parameters=[
            _query(
                "status",
                "Statut des demandes (referred par défaut).",
                {"type": "string", "enum": ["referred", "approved", "partly_approved", "refused"]},
            ),
            *PAGE,
        ],
    ),
    Operation(
        "POST",
        "/limit-requests/{request_id}/decision",
        "decideLimitRequest",
        "Décider une demande transmise (gestionnaires)",
        "Clients et limites",
        models.LimitRequestOut,
        body=models.LimitDecisionIn,
        groups=("staff",),
        errors=STAFF_ERRORS,
        parameters=[_path("request_id", "Identifiant de la demande.")],
        description="Une seule décision par demande (écriture conditionnelle) : une seconde répond 409.",
    ),
    Operation(
        "GET",
        "/register/{identifier}",
        "getRegisterEntry",
        "Lire une entreprise du registre (gestionnaires)",
        "Registre et surveillance",
        models.RegisterEntryOut,
        groups=("staff",),
        errors=(401, 403, 404, 422, 503),
        parameters=[IDENTIFIER],
    ),
    Operation(
        "GET",
        "/register/{identifier}/buyers",
        "listRegisterBuyers",
        "Contrats qui désignent une entreprise du registre (gestionnaires)",
        "Registre et surveillance",
        models.BuyerList,
        groups=("staff",),
        errors=(401, 403, 404, 422, 503),
        parameters=[IDENTIFIER],
        description="Pour chaque contrat : la limite en vigueur et son historique (à réduire ou résilier).",
    ),
    Operation(
        "PUT",
        "/register/{identifier}",
        "putRegisterEntry",
        "Créer ou modifier une entreprise du registre (gestionnaires)",
        "Registre et surveillance",
        models.RegisterEntryOut,
        body=models.RegisterIn,
        groups=("staff",),
        errors=(400, 401, 403, 404, 422, 503),
        parameters=[IDENTIFIER],
    ),
    Operation(
        "POST",
        "/register/{identifier}/events",
        "recordRegisterEvent",
        "Enregistrer un incident ou un jugement (gestionnaires)",
        "Registre et surveillance",
        models.RegisterEventResult,
        201,
        models.RegisterEventIn,
        groups=("staff",),
        errors=(400, 401, 403, 404, 422, 503),
        parameters=[IDENTIFIER],
        description="Chaque assuré ayant désigné ce client reçoit une alerte.",
    ),
    Operation(
        "GET",
        "/me/alerts",
        "listMyAlerts",
        "Mes alertes de surveillance",
        "Registre et surveillance",
        models.AlertList,
        groups=("owners",),
        errors=(400, 401, 403, 503),
        parameters=PAGE,
    ),
    Operation(
        "POST",
        "/policies/{policy_id}/declarations",
        "declareOverdue",
        "Déclarer une facture impayée",
        "Sinistres",
        models.ClaimOut,
        201,
        models.DeclarationIn,
        groups=("owners",),
        errors=(400, 401, 403, 404, 409, 422, 503),
        parameters=[POLICY],
        description="Les conditions figées du contrat décident aussitôt (moteur, op settle) : une déclaration "
        "tardive ou non garantie est enregistrée au statut rejected avec les motifs du moteur.",
    ),
    Operation(
        "GET",
        "/policies/{policy_id}/claims",
        "listPolicyClaims",
        "Déclarations et sinistres d'un contrat",
        "Sinistres",
        models.ClaimList,
        groups=("owners", "staff"),
        errors=(400, 401, 403, 404, 503),
        parameters=[POLICY, *PAGE],
    ),
    Operation(
        "GET",
        "/claims",
        "listClaims",
        "Lister les sinistres (gestionnaires)",
        "Sinistres",
        models.ClaimList,
        groups=("staff",),
        errors=(400, 401, 403, 503),
        parameters=[
            _query(
                "status",
                "Statut des dossiers (collection par défaut).",
                {
                    "type": "string",
                    "enum": ["collection", "recovered", "claim_established", "indemnified", "rejected"],
                },
            ),
            *PAGE,
        ],
    ),
    Operation(
        "GET",
        "/claims/{claim_id}",
        "getClaim",
        "Lire un dossier et son historique",
        "Sinistres",
        models.ClaimOut,
        groups=("owners", "staff"),
        errors=(401, 403, 404, 503),
        parameters=[CLAIM],
    ),
    Operation(
        "POST",
        "/claims/{claim_id}/recoveries",
        "recordRecovery",
        "Enregistrer un encaissement (gestionnaires)",
        "Sinistres",
        models.ClaimOut,
        201,
        models.RecoveryIn,
        groups=("staff",),
        errors=STAFF_ERRORS,
        parameters=[CLAIM],
        description="Après indemnisation, l'encaissement est partagé à la quotité garantie (part assureur, part assuré).",
    ),
    Operation(
        "POST",
        "/claims/{claim_id}/establish",
        "establishClaim",
        "Constituer le sinistre (gestionnaires)",
        "Sinistres",
        models.ClaimOut,
        groups=("staff",),
        errors=(401, 403, 404, 409, 503),
        parameters=[CLAIM],
        description="Sur jugement d'ouverture, ou à la fin du délai constitutif.",
    ),
    Operation(
        "POST",
        "/claims/{claim_id}/settle",
        "settleClaim",
        "Indemniser (gestionnaires)",
        "Sinistres",
        models.ClaimOut,
        groups=("staff",),
        errors=(401, 403, 404, 409, 503),
        parameters=[CLAIM],
        description="L'indemnité est calculée par le moteur (op settle) avec les conditions figées du contrat et "
        "le total déjà payé dans l'année ; jamais au-delà du plafond annuel (transaction conditionnelle).",
    ),
    Operation(
        "POST",
        "/claims/{claim_id}/reject",
        "rejectClaim",
        "Refuser un dossier (gestionnaires)",
        "Sinistres",
        models.ClaimOut,
        body=models.RejectIn,
        groups=("staff",),
        errors=STAFF_ERRORS,
        parameters=[CLAIM],
    ),
)

DOCUMENT = _path("document_id", "Identifiant du document.")
OPERATIONS += (
    Operation(
        "POST",
        "/claims/{claim_id}/documents",
        "requestDocumentUpload",
        "Préparer l'envoi d'un document",
        "Documents",
        models.DocumentUploadOut,
        201,
        models.DocumentIn,
        groups=("owners", "staff"),
        errors=(400, 401, 403, 404, 409, 422, 503),
        parameters=[CLAIM],
        description="Facture, relance, mise en demeure ou pièce judiciaire : PDF, JPEG ou PNG, 10 Mo au plus. "
        "Répond un formulaire S3 pré-signé (POST multipart : les champs fields puis le fichier, champ file) "
        "valable 15 minutes, limité à ce dossier, à ce type et à 10 Mo. Le document reste pending "
        "jusqu'à sa confirmation.",
    ),
    Operation(
        "GET",
        "/claims/{claim_id}/documents",
        "listDocuments",
        "Documents d'un dossier",
        "Documents",
        models.DocumentList,
        groups=("owners", "staff"),
        errors=(401, 403, 404, 503),
        parameters=[CLAIM],
    ),
    Operation(
        "POST",
        "/claims/{claim_id}/documents/{document_id}/confirm",
        "confirmDocument",
        "Confirmer l'envoi : vérification et rattachement au dossier",
        "Documents",
        models.DocumentOut,
        groups=("owners", "staff"),
        errors=(401, 403, 404, 409, 422, 503),
        parameters=[CLAIM, DOCUMENT],
        description="Le serveur vérifie le fichier reçu : taille (10 Mo au plus), type et premiers octets "
        "(signature PDF, JPEG ou PNG du type déclaré). Accepté, il est rattaché à l'historique du dossier ; "
        "refusé (422 document_rejected), il est marqué rejected avec le motif et peut être renvoyé puis "
        "confirmé de nouveau. 409 document_not_uploaded si rien n'a été reçu.",
    ),
    Operation(
        "GET",
        "/claims/{claim_id}/documents/{document_id}/download",
        "downloadDocument",
        "Lien de téléchargement d'un document",
        "Documents",
        models.DownloadOut,
        groups=("owners", "staff"),
        errors=(401, 403, 404, 409, 503),
        parameters=[CLAIM, DOCUMENT],
        description="Lien S3 pré-signé valable 15 minutes au plus, pour l'assuré du dossier et les gestionnaires.",
    ),
)


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API (built once)."""
    from pydantic.json_schema import models_json_schema

    inputs = [op.body for op in OPERATIONS if op.body is not None]
    outputs = [op.response for op in OPERATIONS if op.response is not None] + [
        models.ErrorResponse,
        models.GatewayError,
    ]
    refs, schemas = models_json_schema(
        [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs],
        ref_template="#/components/schemas/{model}",
    )
    error_ref = refs[(models.ErrorResponse, "serialization")]
    unauthorized = {"anyOf": [error_ref, refs[(models.GatewayError, "serialization")]]}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        if op.response is not None:
            content = {op.media_type: {"schema": refs[(op.response, "serialization")]}}
        elif op.media_type == "text/html":
            content = {op.media_type: {"schema": {"type": "string"}}}
        else:
            content = {op.media_type: {"schema": {"type": "object"}}}
        responses: dict[str, Any] = {str(op.status): {"description": op.summary, "content": content}}
        for status in op.errors:
            responses[str(status)] = {
                "description": ERRORS[status],
                "content": {"application/json": {"schema": unauthorized if status == 401 else error_ref}},
            }
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "responses": responses,
        }
        if op.description:
            entry["description"] = op.description
        if op.parameters:
            entry["parameters"] = op.parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        if op.groups is not None:
            entry["security"] = [{"cognito": []}]
            entry["x-groups"] = list(op.groups)
        else:
            entry["security"] = []
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API Assurance-crédit TPE",
            "version": "1.0.0",
            "description": "Devis, souscription en ligne, contrats et attestations, clients et limites de crédit, "
            "surveillance, déclarations d'impayés, sinistres et leurs documents. Les messages d'erreur sont "
            "en français ; chaque erreur a la forme ErrorResponse.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in OPERATIONS)],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "cognito": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Jeton Cognito (ID ou accès) du groupe indiqué par x-groups.",
                }
            },
        },
    }

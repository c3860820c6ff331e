"""MkDocs hook: the API reference page, rendered at build time from the API's own OpenAPI document.

The page ``api.md`` holds the marker ``<!-- openapi -->``; this hook replaces it with the
operations of ``chalicelib.openapi.document()`` (the function behind ``GET /openapi.json``,
imported from ``api/``, no server needed) in readable French: operations grouped by tag,
method and path, summary, authentication, parameters, request body fields (nested fields
flattened to dotted paths, the ``path`` of the API's errors), responses and the error format.

Runs after ``tariff_pages.py`` (listed after it in ``mkdocs.yml``), so the generated text is
never read as Jinja2. A missing marker or an import failure fails the build.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

API_DIR = Path(__file__).resolve().parents[2] / "api"
PAGE = "api.md"
MARKER = "<!-- openapi -->"
MAX_DEPTH = 6

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
PLACES = {"path": "chemin", "query": "requête", "header": "en-tête", "cookie": "cookie"}
GROUPS = {"owners": "assurés", "brokers": "courtiers", "staff": "gestionnaires"}
# French words for fields the API does not describe itself (its own descriptions win).
FALLBACK = {
    "siren": "Numéro SIREN de l'entreprise (9 chiffres).",
    "siret": "Numéro SIRET de l'établissement (14 chiffres).",
    "legal_name": "Raison sociale.",
    "address": "Adresse postale.",
    "line1": "Adresse (numéro et voie).",
    "line2": "Complément d'adresse.",
    "postal_code": "Code postal (5 chiffres).",
    "city": "Commune.",
    "country": "Pays (FR).",
    "company": "L'entreprise qui souscrit.",
    "contact": "La personne qui souscrit et se connectera à l'espace assuré.",
    "first_name": "Prénom.",
    "last_name": "Nom.",
    "email": "Adresse e-mail.",
    "profile": "Profil de l'entreprise, avec les noms du moteur de calcul.",
    "options": "Formule et options, avec les noms du moteur de calcul.",
    "export": "Parts des ventes à crédit réalisées à l'export.",
    "quote_id": "Identifiant du devis.",
    "policy_id": "Identifiant du contrat.",
    "policy_number": "Numéro du contrat.",
    "status": "Statut.",
    "created_at": "Date et heure de création.",
    "expires_at": "Fin de validité.",
    "tariff_version": "Version du tarif appliquée.",
    "tariff_versions": "Versions du tarif disponibles.",
    "formula": "Formule.",
    "formula_label": "Nom de la formule.",
    "premium": "Prime annuelle, en euros (nombres décimaux écrits en texte).",
    "net": "Prime nette.",
    "fees": "Frais de service.",
    "tax": "Taxe sur les conventions d'assurance.",
    "total": "Prime totale par an.",
    "monthly": "Montant mensuel.",
    "request": "La demande telle que calculée par le moteur.",
    "start_date": "Date d'effet.",
    "end_date": "Date de fin de la période de garantie.",
    "renewal": "Mode de renouvellement.",
    "notice_months": "Préavis de résiliation, en mois.",
    "terms": "Conditions figées du contrat (quotité, plafond, franchise…).",
    "mandate": "Mandat de prélèvement SEPA de la prime.",
    "reference": "Référence unique du mandat.",
    "signed_on": "Date de signature du mandat.",
    "scheme": "Schéma de prélèvement.",
    "iban_masked": "IBAN masqué : seuls les 4 derniers caractères.",
    "broker_id": "Identifiant du courtier.",
    "items": "Les éléments de la page.",
    "stage": "Environnement de l'API.",
    "error": "L'erreur.",
    "code": "Code stable de l'erreur, en anglais (par exemple validation_error).",
    "message": "Message de l'erreur.",
    "fields": "Les champs en cause (liste vide si l'erreur ne vise aucun champ).",
    "path": "Chemin du champ en cause, par exemple company.siren.",
}
ERROR_EXAMPLE = {
    "error": {
        "code": "validation_error",
        "message": "La demande contient des champs invalides.",
        "fields": [
            {"path": "company.siren", "message": "numéro SIREN invalide (9 chiffres, clé de contrôle)"},
            {"path": "start_date", "message": "doit être une date au format AAAA-MM-JJ"},
        ],
    }
}


def load_document() -> dict[str, Any]:
    """The API's OpenAPI document, from the function that ``GET /openapi.json`` answers with."""
    added = str(API_DIR) not in sys.path
    if added:
        sys.path.insert(0, str(API_DIR))
    try:
        from chalicelib import openapi
    except ImportError as error:
        raise PluginError(
            f"{PAGE} : impossible d'importer chalicelib.openapi depuis {API_DIR} : {error}"
        ) from error
    finally:
        if added:
            sys.path.remove(str(API_DIR))
    return openapi.document()


# --- schemas in words -------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


class Schemas:
    """Reads the document's schemas: resolves ``$ref``, names types in French, flattens objects."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = set()
        while "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen or not ref.startswith("#/components/schemas/"):
                raise PluginError(f"{PAGE} : référence de schéma introuvable ou circulaire : {ref}")
            seen.add(ref)
            name = ref.rsplit("/", 1)[1]
            if name not in self.components:
                raise PluginError(f"{PAGE} : schéma {name} absent du document")
            schema = {**self.components[name], **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    @staticmethod
    def ref_name(schema: dict[str, Any]) -> str | None:
        ref = schema.get("$ref")
        return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None

    def ref_names(self, schema: dict[str, Any]) -> list[str]:
        """The named schemas of a response: one ``$ref``, or each alternative of an ``anyOf``."""
        variants, _ = self.variants(schema)
        return [name for name in map(self.ref_name, variants) if name]

    def variants(self, schema: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """The non-null alternatives of a schema and whether ``null`` is allowed."""
        options = schema.get("anyOf") or schema.get("oneOf")
        if not options:
            return [schema], schema.get("type") == "null"
        kept = [o for o in options if o.get("type") != "null"]
        return kept, len(kept) != len(options)

    def type_text(self, schema: dict[str, Any]) -> str:
        """``texte``, ``nombre``, ``liste de TopBuyerIn``, ``date (AAAA-MM-JJ)``… of a schema."""
        variants, nullable = self.variants(schema)
        words = list(dict.fromkeys(self._one_type(v) for v in variants))
        if len(words) == 2 and words[0] == "nombre" and words[1].startswith("texte"):
            words = ["nombre (ou texte décimal)"]
        text = " ou ".join(words)
        return f"{text} ou null" if nullable else text

    def _one_type(self, schema: dict[str, Any]) -> str:
        name = self.ref_name(schema)
        if name:
            return f"objet {name}"
        if "const" in schema:
            return f"valeur fixe {json.dumps(schema['const'], ensure_ascii=False)}"
        if "enum" in schema:
            return "un parmi : " + ", ".join(str(v) for v in schema["enum"])
        kind = schema.get("type")
        fmt = schema.get("format")
        if kind == "string":
            return {
                "date": "date (AAAA-MM-JJ)",
                "date-time": "date et heure (ISO 8601)",
                "email": "adresse e-mail",
                "password": "mot de passe",
            }.get(fmt, "texte")
        if kind == "array":
            return "liste de " + self._one_type(schema.get("items", {}))
        return {
            "integer": "entier",
            "number": "nombre",
            "boolean": "booléen (true ou false)",
            "object": "objet",
            "null": "null",
        }.get(kind or "", "valeur")

    @staticmethod
    def constraints(schema: dict[str, Any]) -> list[str]:
        notes = []
        for variant in [schema, *(schema.get("anyOf") or [])]:
            if "minLength" in variant and "maxLength" in variant:
                notes.append(f"{variant['minLength']} à {variant['maxLength']} caractères")
            elif "maxLength" in variant:
                notes.append(f"au plus {variant['maxLength']} caractères")
            if "maxItems" in variant:
                notes.append(f"au plus {variant['maxItems']} éléments")
            if "minimum" in variant and "maximum" in variant:
                notes.append(f"de {variant['minimum']} à {variant['maximum']}")
            if "pattern" in variant and variant["pattern"] not in (
                r"^[^\x00-\x1f\x7f]*$",
                r"^-?\d+([.,]\d+)?$",
            ):
                notes.append(f"format : {variant['pattern']}")
            if "default" in variant and variant["default"] is not None:
                notes.append(f"par défaut : {json.dumps(variant['default'], ensure_ascii=False)}")
        return list(dict.fromkeys(notes))

    def fields(
        self, schema: dict[str, Any], prefix: str = "", depth: int = 0
    ) -> Iterator[tuple[str, dict[str, Any], bool]]:
        """``(dotted path, property schema, required)`` of every field, nested objects flattened."""
        schema = self.resolve(schema)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            path = f"{prefix}{name}"
            yield path, prop, name in required
            if depth >= MAX_DEPTH:
                continue
            variants, _ = self.variants(prop)
            for variant in variants:
                if "$ref" in variant:
                    yield from self.fields(variant, f"{path}.", depth + 1)
                elif variant.get("type") == "array" and "$ref" in variant.get("items", {}):
                    yield from self.fields(variant["items"], f"{path}[].", depth + 1)

    def description(self, path: str, prop: dict[str, Any]) -> str:
        variants, _ = self.variants(prop)
        text = prop.get("description") or next(
            (v["description"] for v in variants if v.get("description")), ""
        )
        return text or FALLBACK.get(path.rsplit(".", 1)[-1].removesuffix("[]"), "")


# --- HTML -------------------------------------------------------------------------------------


def _scroll_table(label: str, head: list[str], rows: list[list[str]], name: str) -> str:
    """A table in a focusable box that scrolls sideways on a phone (cells are HTML already)."""
    header = "".join(f'<th scope="col">{_e(h)}</th>' for h in head)
    body = "".join(
        "<tr>" + f'<th scope="row">{row[0]}</th>' + "".join(f"<td>{c}</td>" for c in row[1:]) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="ac-table" tabindex="0" role="region" aria-label="{_e(label)}" data-table="{_e(name)}">'
        f"<table><caption>{_e(label)}</caption><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def fields_table(schemas: Schemas, schema: dict[str, Any], label: str, name: str) -> str:
    rows = []
    for path, prop, required in schemas.fields(schema):
        notes = schemas.constraints(prop)
        described = _e(schemas.description(path, prop) or "—")
        if notes:
            described += '<br><span class="ac-api-note">' + _e(" ; ".join(notes)) + "</span>"
        rows.append(
            [
                f"<code>{_e(path)}</code>",
                _e(schemas.type_text(prop)),
                "oui" if required else "non",
                described,
            ]
        )
    if not rows:
        return "<p>Aucun champ.</p>"
    return _scroll_table(label, ["Champ", "Type", "Obligatoire", "Description"], rows, name)


def _auth_text(operation: dict[str, Any]) -> str:
    if not operation.get("security"):
        return "Aucune : opération anonyme."
    groups = operation.get("x-groups") or []
    who = (
        ", ".join(f"{GROUPS.get(g, g)} (<code>{_e(g)}</code>)" for g in groups) or "tout utilisateur connecté"
    )
    return f"Jeton Cognito dans l'en-tête <code>Authorization: Bearer …</code> ; groupes admis : {who}."


def _content_schema(response: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    content = response.get("content") or {}
    for media_type, spec in content.items():
        return media_type, spec.get("schema", {})
    return None


def operation_html(schemas: Schemas, method: str, path: str, operation: dict[str, Any]) -> str:
    op_id = operation.get("operationId", f"{method}-{path}")
    parts = [
        f'<div class="ac-api-op" data-operation="{_e(op_id)}" data-method="{_e(method.upper())}" data-path="{_e(path)}">',
        f'<p class="ac-api-line"><span class="ac-api-method ac-api-method--{_e(method)}">{_e(method.upper())}</span> '
        f"<code>{_e(path)}</code></p>",
    ]
    if operation.get("description"):
        parts.append(f"<p>{_e(operation['description'])}</p>")
    parts.append(f"<p><strong>Authentification</strong> : {_auth_text(operation)}</p>")
    parameters = operation.get("parameters") or []
    if parameters:
        rows = []
        for p in parameters:
            notes = schemas.constraints(p.get("schema", {}))
            text = _e(p.get("description", "") or "—")
            if notes:
                text += '<br><span class="ac-api-note">' + _e(" ; ".join(notes)) + "</span>"
            rows.append(
                [
                    f"<code>{_e(p['name'])}</code>",
                    _e(PLACES.get(p.get("in", ""), p.get("in", ""))),
                    _e(schemas.type_text(p.get("schema", {}))),
                    "oui" if p.get("required") else "non",
                    text,
                ]
            )
        parts.append(
            _scroll_table(
                f"Paramètres de {method.upper()} {path}",
                ["Paramètre", "Emplacement", "Type", "Obligatoire", "Description"],
                rows,
                f"{op_id}-parameters",
            )
        )
    body = operation.get("requestBody")
    if body:
        media_type, spec = next(iter(body.get("content", {}).items()))
        schema = spec.get("schema", {})
        name = schemas.ref_name(schema) or "corps"
        parts.append(
            f"<p><strong>Corps de la requête</strong> : <code>{_e(media_type)}</code>, objet {_e(name)}.</p>"
        )
        parts.append(
            fields_table(schemas, schema, f"Champs du corps de {method.upper()} {path}", f"{op_id}-body")
        )
    parts.append("<p><strong>Réponses</strong> :</p>")
    items = []
    details = []
    for status, response in sorted(operation.get("responses", {}).items()):
        found = _content_schema(response)
        what = ""
        if found:
            media_type, schema = found
            names = schemas.ref_names(schema)
            shown = []
            for name in names:
                if name == "ErrorResponse":
                    shown.append('<a href="#format-des-erreurs">format des erreurs</a>')
                    continue
                shown.append(f"objet {_e(name)}")
                details.append(
                    f'<details class="ac-api-response"><summary>Champs de la réponse {_e(status)} ({_e(name)})</summary>'
                    + fields_table(
                        schemas,
                        {"$ref": f"#/components/schemas/{name}"},
                        f"Champs de la réponse {status} ({name}) de {method.upper()} {path}",
                        f"{op_id}-{status}-{name}",
                    )
                    + "</details>"
                )
            if "ErrorResponse" not in names:
                shown.insert(0, f"<code>{_e(media_type)}</code>")
            what = " ; " + " ou ".join(shown) if shown else ""
        items.append(
            f'<li data-status="{_e(status)}"><strong>{_e(status)}</strong> : {_e(response.get("description", ""))}{what}</li>'
        )
    parts.append('<ul class="ac-api-responses">' + "".join(items) + "</ul>")
    parts.extend(details)
    parts.append("</div>")
    return "".join(parts)


def _heading_text(text: str) -> str:
    """Text safe in a Markdown heading: no emphasis, links or trailing attribute list."""
    return re.sub(r"([\\`*_{}\[\]<>#|!])", r"\\\1", text)


def render(document: dict[str, Any]) -> str:
    """The Markdown (headings) and HTML (details) of the reference."""
    schemas = Schemas(document)
    info = document.get("info", {})
    out = [
        f'<p class="ac-api-info" data-openapi-version="{_e(document.get("openapi", ""))}">'
        f"{_e(info.get('title', ''))}, version {_e(info.get('version', ''))} "
        f"(OpenAPI {_e(document.get('openapi', ''))}). {_e(info.get('description', ''))}</p>",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in document.get("paths", {}).items():
        for method in sorted(methods, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99):
            operation = methods[method]
            tag = (operation.get("tags") or ["Autres"])[0]
            by_tag.setdefault(tag, []).append((method, path, operation))
    tags = [t["name"] for t in document.get("tags", [])] + sorted(by_tag)
    summary_rows = []
    sections = []
    for tag in dict.fromkeys(tags):
        if tag not in by_tag:
            continue
        sections += [f"## {_heading_text(tag)}", ""]
        for method, path, operation in by_tag[tag]:
            op_id = operation.get("operationId", "")
            anchor = "op-" + re.sub(r"[^A-Za-z0-9_-]", "-", op_id or f"{method}-{path}")
            summary = operation.get("summary") or f"{method.upper()} {path}"
            sections += [
                f"### {_heading_text(summary)} {{#{anchor}}}",
                "",
                operation_html(schemas, method, path, operation),
                "",
            ]
            summary_rows.append(
                [
                    f'<a href="#{anchor}"><code>{_e(method.upper())} {_e(path)}</code></a>',
                    _e(summary),
                    "anonyme"
                    if not operation.get("security")
                    else _e(", ".join(GROUPS.get(g, g) for g in operation.get("x-groups") or [])),
                ]
            )
    out += [
        _scroll_table("Toutes les opérations", ["Opération", "Résumé", "Accès"], summary_rows, "operations"),
        "",
        *sections,
    ]
    error = document.get("components", {}).get("schemas", {}).get("ErrorResponse")
    if error is not None:
        statuses = {}
        for methods in document.get("paths", {}).values():
            for operation in methods.values():
                for status, response in operation.get("responses", {}).items():
                    found = _content_schema(response)
                    if found and "ErrorResponse" in schemas.ref_names(found[1]):
                        statuses.setdefault(status, response.get("description", ""))
        example = html.escape(json.dumps(ERROR_EXAMPLE, ensure_ascii=False, indent=2))
        out += [
            "## Format des erreurs {#format-des-erreurs}",
            "",
            '<div class="ac-api-errors">'
            "<p>Toute erreur répond un document JSON de même forme, avec le statut HTTP qui convient. "
            "Le message est en français et peut être montré tel quel ; chaque champ en cause est nommé "
            "par son chemin, ce qui permet d'afficher le message à côté du bon champ d'un formulaire.</p>"
            + fields_table(
                schemas, {"$ref": "#/components/schemas/ErrorResponse"}, "Champs d'une erreur", "error"
            )
            + f'<pre><code class="language-json">{example}</code></pre>'
            + _scroll_table(
                "Statuts d'erreur",
                ["Statut", "Signification"],
                [[_e(s), _e(d)] for s, d in sorted(statuses.items())],
                "statuses",
            )
            + "</div>",
            "",
        ]
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker of ``api.md`` with the rendered reference."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} : le repère {MARKER} manque")
    return markdown.replace(MARKER, render(load_document()))

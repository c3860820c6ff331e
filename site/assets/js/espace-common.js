// What the owner's and the staff's pages share on top of service.js: the session check, the
// API error shown in the page's status box, sending a form, the policy picker, French labels and
// small renderers.
import { esc, euro } from "./render.mjs";
import { api, busy, checkRequired, clearSession, frenchDate, getSession, hideMessage, logOut, requireConfig, showApiError, showMessage, siteUrl } from "./service.js";

export const CLAIM_STATUS = {
  collection: "Recouvrement amiable en cours",
  recovered: "Recouvré : l'impayé a été réglé",
  claim_established: "Sinistre constitué : indemnité en cours de calcul",
  indemnified: "Indemnisé",
  rejected: "Refusé",
};
export const REQUEST_STATUS = {
  referred: "Transmise à un gestionnaire",
  approved: "Accordée",
  partly_approved: "Accordée en partie",
  refused: "Refusée",
};
export const LIMIT_KIND = {
  approved: "Limite accordée",
  partly_approved: "Limite accordée en partie",
  refused: "Limite refusée",
  reduced: "Limite réduite",
  cancelled: "Limite annulée",
};
export const DOCUMENT_KIND = {
  invoice: "Facture",
  reminder: "Relance",
  formal_notice: "Mise en demeure",
  court_paper: "Pièce judiciaire",
};
export const HISTORY_ACTION = {
  declared: "Déclaration reçue",
  collection_started: "Recouvrement amiable engagé",
  rejected: "Refus",
  established: "Sinistre constitué",
  indemnified: "Indemnité calculée",
  recovery: "Encaissement récupéré auprès du client",
};

export const row = (label, value, attrs = "") =>
  `<div class="ac-row"${attrs}><dt>${esc(label)}</dt><dd>${value}</dd></div>`;
export { esc, euro, frenchDate };

/** The page's config and session, or ``null`` (the status box then says what to do). */
export async function start(status, { what }) {
  const config = await requireConfig(status);
  if (!config) return null;
  const session = getSession();
  if (!session) {
    askToLogIn(status, `Connectez-vous pour ${what}.`);
    return null;
  }
  const bar = document.querySelector("[data-logout]");
  if (bar) {
    bar.hidden = false;
    bar.querySelector("button").addEventListener("click", logOut);
  }
  return { config, session, call: (path, options = {}) => api(config, path, { token: session.id_token, ...options }) };
}

export function askToLogIn(status, text) {
  clearSession();
  for (const node of document.querySelectorAll("[data-needs-session]")) node.hidden = true;
  status.innerHTML = `${esc(text)} <a href="${esc(siteUrl("connexion/"))}">Se connecter</a>`;
  status.hidden = false;
  status.dataset.kind = "info";
}

/** An API failure in the status box: the log-in link on 401, the API's French message otherwise. */
export function failed(status, error, forbidden = "Votre compte n'a pas accès à cette page.") {
  if (error.status === 401) askToLogIn(status, "Votre session a expiré : connectez-vous de nouveau.");
  else if (error.status === 403) showMessage(status, forbidden, "warning");
  else showMessage(status, error.message, "error");
  status.focus?.();
}

/**
 * Send ``form`` to the API: check its required fields (told in ``box``), then run ``work`` while
 * the form shows it is busy. An expired session is told in the page's ``status`` box, with the
 * log-in link; any other error goes in ``box`` and beside the fields at fault, unless ``onError``
 * told the visitor itself (it then returns true).
 */
export async function sendForm(form, box, status, work, { onError, prefixes } = {}) {
  hideMessage(box);
  if (checkRequired(form, box)) return;
  await busy(form, async () => {
    try {
      await work();
    } catch (error) {
      if (error.status === 401) failed(status, error);
      else if (!(await onError?.(error))) showApiError(form, box, error, { prefixes });
    }
  });
}

/** The owner's active policies; fills the ``select`` when there are several. */
async function choosePolicy(ctx, select) {
  const { data } = await ctx.call("me/policies?limit=50");
  const policies = data.items.filter((p) => p.status === "active");
  select.innerHTML = policies
    .map((p) => `<option value="${esc(p.policy_id)}">Contrat n° ${esc(p.policy_number)} — ${esc(p.formula_label)}</option>`)
    .join("");
  select.closest("[data-policy-picker]").hidden = policies.length < 2;
  return policies;
}

/**
 * Fill the policy picker with the owner's active policies, then ``load(policies)``. An account
 * with none, or one the owner's pages refuse, is told so in ``status``.
 */
export async function withPolicies(ctx, select, status, load) {
  try {
    const policies = await choosePolicy(ctx, select);
    if (!policies.length) {
      showMessage(status, "Aucun contrat en vigueur n'est rattaché à votre compte.", "info");
      return;
    }
    await load(policies);
  } catch (error) {
    failed(status, error, "Cet espace est réservé aux assurés : votre compte n'y a pas accès.");
  }
}

const DOCUMENT_STATUS = { pending: "en attente de vérification", accepted: "reçu", rejected: "refusé" };

/**
 * Fill ``box`` with the claim's documents; accepted ones get a download button. Staff see only
 * accepted files (``acceptedOnly``): the rest never reached the claim.
 */
export async function loadDocuments(ctx, box, claimId, { acceptedOnly = false } = {}) {
  const { data } = await ctx.call(`claims/${encodeURIComponent(claimId)}/documents`);
  const items = acceptedOnly ? data.items.filter((d) => d.status === "accepted") : data.items;
  box.innerHTML = items.length
    ? items
        .map(
          (d) =>
            `<li>${esc(DOCUMENT_KIND[d.kind] ?? d.kind)} : ${esc(d.filename)} — ${esc(DOCUMENT_STATUS[d.status] ?? d.status)}${d.rejection_reason ? ` (${esc(d.rejection_reason)})` : ""}${d.status === "accepted" ? ` <button type="button" class="md-button" data-download="${esc(d.document_id)}" data-claim-id="${esc(claimId)}">Obtenir le lien de téléchargement <span class="ac-sr">de ${esc(d.filename)}</span></button>` : ""}</li>`,
        )
        .join("")
    : "<li>Aucun justificatif pour l'instant.</li>";
}

/** Swap a download button for a short-lived presigned link (asked only when wanted: it expires). */
export async function downloadLink(ctx, button, status) {
  button.disabled = true;
  try {
    const { data } = await ctx.call(`claims/${encodeURIComponent(button.dataset.claimId)}/documents/${encodeURIComponent(button.dataset.download)}/download`);
    const link = document.createElement("a");
    link.href = data.url;
    link.textContent = `Télécharger (lien valable jusqu'à ${new Date(data.expires_at).toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" })})`;
    button.replaceWith(link);
    link.focus();
  } catch (error) {
    button.disabled = false;
    failed(status, error);
  }
}

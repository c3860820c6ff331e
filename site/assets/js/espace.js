// "Mon espace": GET /me/policies with the ID token, one card per policy, the attestation fetched
// with the token and shown in a sandboxed frame (print, or download from a Blob URL); log out.
import { esc, euro } from "./render.mjs";
import { api, clearSession, frenchDate, getSession, logOut, requireConfig, showMessage, siteUrl } from "./service.js";

const status = document.getElementById("espace-status");
const section = document.getElementById("espace-policies");
const list = document.getElementById("espace-list");
const more = document.getElementById("espace-more");
const panel = document.getElementById("espace-attestation");
const frame = document.getElementById("espace-attestation-frame");
const download = document.getElementById("espace-download");
const STATUS_LABELS = { active: "En vigueur", pending_account: "En cours d'activation" };

let config = null;
let session = null;
let nextToken = null;
let blobUrl = null;

const row = (label, value, attrs = "") => `<div class="ac-row"${attrs}><dt>${esc(label)}</dt><dd>${value}</dd></div>`;

function askToLogIn(text) {
  clearSession();
  document.getElementById("espace-session").hidden = true;
  section.hidden = true;
  panel.hidden = true;
  status.innerHTML = `${esc(text)} <a href="${esc(siteUrl("connexion/"))}">Se connecter</a>`;
  status.hidden = false;
  status.dataset.kind = "info";
}

/** An API failure: back to the log-in page's link on 401, the API's French message otherwise. */
function failed(error) {
  if (error.status === 401) askToLogIn("Votre session a expiré : connectez-vous de nouveau.");
  else if (error.status === 403) showMessage(status, "Cet espace est réservé aux assurés : votre compte n'y a pas accès.", "warning");
  else showMessage(status, error.message, "error");
}

function policyCard(policy) {
  const id = esc(policy.policy_id);
  return `<article class="ac-policy" data-policy="${id}" aria-labelledby="policy-${id}">
<h3 id="policy-${id}">Contrat n° <span data-policy-number>${esc(policy.policy_number)}</span></h3>
<dl class="ac-summary">
${row("Formule", esc(policy.formula_label), ' data-summary="formula"')}
${row("Entreprise assurée", esc(policy.company?.legal_name ?? ""))}
${row("Période de garantie", `du ${esc(frenchDate(policy.start_date))} au ${esc(frenchDate(policy.end_date))}`)}
${row("Statut", esc(STATUS_LABELS[policy.status] ?? policy.status), ` data-status="${esc(policy.status)}"`)}
${row("Prime totale par an, taxes comprises", euro(policy.premium?.total))}
</dl>
<p class="ac-actions"><button type="button" class="md-button" data-action="attestation" data-policy="${id}" data-number="${esc(policy.policy_number)}">Voir l'attestation <span class="ac-sr">du contrat ${esc(policy.policy_number)}</span></button></p>
</article>`;
}

async function loadPolicies() {
  const query = nextToken ? `?next_token=${encodeURIComponent(nextToken)}` : "";
  try {
    const { data } = await api(config, `me/policies${query}`, { token: session.id_token });
    list.insertAdjacentHTML("beforeend", data.items.map(policyCard).join(""));
    nextToken = data.next_token ?? null;
    more.hidden = !nextToken;
    section.hidden = false;
    if (!list.children.length) {
      showMessage(status, "Aucun contrat n'est encore rattaché à votre compte.", "info");
    } else {
      const count = list.children.length;
      showMessage(status, count === 1 ? "Vous avez 1 contrat." : `Vous avez ${count} contrats.`, "info");
    }
  } catch (error) {
    failed(error);
  }
}

async function openAttestation(button) {
  const policyId = button.dataset.policy;
  button.disabled = true;
  try {
    const { data: page } = await api(config, `policies/${encodeURIComponent(policyId)}/attestation`, {
      token: session.id_token,
      accept: "text",
    });
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = URL.createObjectURL(new Blob([page], { type: "text/html" }));
    download.href = blobUrl;
    download.download = `attestation-${policyId}.html`;
    frame.title = `Attestation d'assurance du contrat ${button.dataset.number}`;
    frame.srcdoc = page;
    document.getElementById("espace-attestation-title").textContent = `Attestation d'assurance du contrat ${button.dataset.number}`;
    panel.dataset.policy = policyId;
    panel.hidden = false;
    document.getElementById("espace-attestation-title").focus();
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  config = await requireConfig(status);
  if (!config) return;
  session = getSession();
  if (!session) {
    askToLogIn("Connectez-vous pour voir vos contrats et vos attestations.");
    return;
  }
  document.getElementById("espace-session").hidden = false;
  document.getElementById("espace-logout").addEventListener("click", logOut);
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action=attestation]");
    if (button) openAttestation(button);
  });
  more.addEventListener("click", loadPolicies);
  document.getElementById("espace-print").addEventListener("click", () => frame.contentWindow?.print());
  await loadPolicies();
}

main();

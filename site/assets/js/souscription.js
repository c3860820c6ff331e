// "Souscrire en ligne": GET /quotes/{id} from ?devis=, the subscription form, POST /subscriptions
// with one Idempotency-Key per form (a retry sends the same key, so never a second policy).
import { esc, euro } from "./render.mjs";
import {
  api,
  busy,
  checkRequired,
  frenchDate,
  hideMessage,
  parisDay,
  requireConfig,
  setLoginHint,
  setPath,
  showApiError,
  showMessage,
  siteUrl,
} from "./service.js";

const status = document.getElementById("sub-status");
const form = document.getElementById("sub-form");
const general = document.getElementById("sub-error");
const quoteBox = document.getElementById("sub-quote");
const resultBox = document.getElementById("sub-result");
const START_WINDOW_DAYS = 90;
const STATUS_LABELS = { active: "En vigueur", pending_account: "En cours d'activation" };

const row = (label, value, attrs = "") => `<div class="ac-row"${attrs}><dt>${esc(label)}</dt><dd>${value}</dd></div>`;
let idempotencyKey = crypto.randomUUID();

function showQuote(quote) {
  document.getElementById("sub-quote-list").innerHTML = [
    row("Référence du devis", `<code>${esc(quote.quote_id)}</code>`),
    row("Formule", esc(quote.result?.label ?? quote.formula), ' data-summary="formula"'),
    row("Prime totale par an, taxes comprises", `<strong data-premium-total="${esc(quote.premium.total)}">${euro(quote.premium.total)}</strong>`),
    row("Valable jusqu'au", esc(frenchDate(quote.expires_at))),
  ].join("");
  quoteBox.hidden = false;
}

/** The request body from the form: names are the API's dotted paths. */
function body(quoteId) {
  const data = { quote_id: quoteId, company: { address: { country: "FR" } } };
  for (const input of form.querySelectorAll("[name]")) {
    if (input.type === "checkbox") {
      setPath(data, input.name, input.checked);
      continue;
    }
    let value = input.value.trim();
    if (["company.siren", "company.siret", "iban"].includes(input.name)) value = value.replace(/[\s.\u00a0\u202f-]/g, "");
    if (input.name === "iban") value = value.toUpperCase();
    if (input.name === "password") value = input.value; // sent as typed
    if (!value && !input.required) continue;
    setPath(data, input.name, value);
  }
  return data;
}

function showPolicy(policy) {
  document.getElementById("sub-result-list").innerHTML = [
    row("Numéro de contrat", `<strong data-policy-number="${esc(policy.policy_number)}">${esc(policy.policy_number)}</strong>`),
    row("Formule", esc(policy.formula_label)),
    row("Entreprise assurée", esc(policy.company?.legal_name ?? "")),
    row("Période de garantie", `du ${esc(frenchDate(policy.start_date))} au ${esc(frenchDate(policy.end_date))}`),
    row("Prime totale par an, taxes comprises", euro(policy.premium.total)),
    row("Compte bancaire", `IBAN se terminant par <span data-iban-masked>${esc(policy.iban_masked)}</span>`),
    row("Mandat de prélèvement SEPA", `référence ${esc(policy.mandate?.reference ?? "")}`),
    row("Statut", esc(STATUS_LABELS[policy.status] ?? policy.status)),
  ].join("");
  document.getElementById("sub-login").href = siteUrl("connexion/");
  form.reset(); // nothing of the IBAN or the password stays in the page
  form.hidden = true;
  quoteBox.hidden = true;
  resultBox.hidden = false;
  document.getElementById("sub-result-title").focus();
}

function closed(quote) {
  if (quote.status === "accepted") {
    return `Ce devis a déjà été souscrit. Retrouvez votre contrat dans votre <a href="${esc(siteUrl("espace/"))}">espace assuré</a>.`;
  }
  if (quote.status === "expired") {
    return `Ce devis a expiré : <a href="${esc(siteUrl("simulateur/"))}">refaites une simulation</a> pour demander un nouveau devis.`;
  }
  return null;
}

async function main() {
  const config = await requireConfig(status);
  if (!config) return;
  const quoteId = new URLSearchParams(location.search).get("devis");
  if (!quoteId) {
    status.innerHTML = `Aucun devis n'est indiqué. <a href="${esc(siteUrl("simulateur/"))}">Faites une simulation</a> puis demandez un devis : le lien « Souscrire » du devis mène ici.`;
    status.hidden = false;
    status.dataset.kind = "info";
    return;
  }
  let quote;
  try {
    ({ data: quote } = await api(config, `quotes/${encodeURIComponent(quoteId)}`));
  } catch (error) {
    const text = error.status === 404 ? "Ce devis est introuvable : vérifiez le lien reçu ou demandez un nouveau devis." : error.message;
    showMessage(status, text, "error");
    return;
  }
  showQuote(quote);
  const stop = closed(quote);
  if (stop) {
    status.innerHTML = stop;
    status.hidden = false;
    status.dataset.kind = "warning";
    return;
  }
  const start = form.elements.start_date;
  start.min = parisDay(0);
  start.max = parisDay(START_WINDOW_DAYS);
  start.value = start.min;
  try {
    const contact = JSON.parse(sessionStorage.getItem("ac-devis-contact") ?? "null");
    if (contact?.quote_id === quote.quote_id) form.elements["contact.email"].value = contact.email;
  } catch {
    /* nothing to prefill */
  }
  document.getElementById("s-show-password").addEventListener("change", (event) => {
    form.elements.password.type = event.target.checked ? "text" : "password";
  });
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hideMessage(general);
    if (checkRequired(form, general)) return;
    const data = body(quote.quote_id);
    await busy(form, async () => {
      showMessage(status, "Enregistrement de votre souscription…", "info");
      try {
        const { data: policy } = await api(config, "subscriptions", {
          method: "POST",
          body: data,
          headers: { "Idempotency-Key": idempotencyKey },
        });
        setLoginHint(data.contact.email);
        sessionStorage.removeItem("ac-devis-contact");
        showMessage(status, `Votre contrat ${policy.policy_number} est souscrit.`, "success");
        showPolicy(policy);
      } catch (error) {
        hideMessage(status);
        if (error.code === "idempotency_key_reused") idempotencyKey = crypto.randomUUID();
        if (error.status === 0 || error.status === 503) {
          error.message += " Vous pouvez renvoyer le formulaire sans risque : il ne sera jamais souscrit deux fois.";
        }
        showApiError(form, general, error, { prefixes: { quote_id: "Devis : " } });
      }
    });
  });
}

main();

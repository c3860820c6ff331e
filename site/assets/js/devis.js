// "Demander un devis": the simulation chosen on the simulator page (sessionStorage "ac-simulation"),
// the visitor's e-mail and optional broker code, POST /quotes, then the server's quote.
import { esc, euro, pctText } from "./render.mjs";
import {
  api,
  busy,
  checkRequired,
  frenchDate,
  hideMessage,
  readSimulation,
  requireConfig,
  showApiError,
  showMessage,
  siteUrl,
} from "./service.js";

const labels = JSON.parse(document.getElementById("ac-labels").textContent);
const status = document.getElementById("devis-status");
const form = document.getElementById("devis-form");
const general = document.getElementById("devis-error");
const summary = document.getElementById("devis-summary");
const result = document.getElementById("devis-result");
const CONTACT_KEY = "ac-devis-contact"; // {quote_id, email}: prefills the subscription form in this tab

const row = (label, value, attrs = "") => `<div class="ac-row"${attrs}><dt>${esc(label)}</dt><dd>${value}</dd></div>`;

/** The quote request of the stored simulation: the profile and the chosen formula's options. */
function quoteRequest(simulation) {
  const request = simulation?.request;
  const formula = simulation?.formula;
  if (!request?.profile || typeof formula !== "string" || !(formula in labels.formulas)) return null;
  const perFormula = request.options?.[formula];
  const options = perFormula && typeof perFormula === "object" ? { ...perFormula } : {};
  return { profile: request.profile, options: { ...options, formula } };
}

function showSummary(simulation, request) {
  const p = request.profile;
  const buyers = Array.isArray(p.top_buyers) ? p.top_buyers.length : 0;
  const payment = request.options.payment === "monthly" ? "Mensuel" : "Annuel";
  document.getElementById("devis-summary-list").innerHTML = [
    row("Formule", `<strong>${esc(labels.formulas[simulation.formula])}</strong>`, ' data-summary="formula"'),
    row("Chiffre d'affaires annuel", `${euro(String(p.turnover), { cents: false })} HT`),
    row("Secteur d'activité", esc(labels.sectors[p.sector] ?? p.sector)),
    row("Principaux clients déclarés", esc(String(buyers))),
    row("Paiement de la prime", payment),
  ].join("");
  if (typeof simulation.back === "string" && simulation.back.startsWith("?")) {
    document.getElementById("devis-back").href = siteUrl(`simulateur/${simulation.back}`);
  }
  summary.hidden = false;
}

function showQuote(quote) {
  const terms = quote.result?.terms ?? {};
  const p = quote.premium;
  const rows = [
    row("Référence du devis", `<code data-quote-id="${esc(quote.quote_id)}">${esc(quote.quote_id)}</code>`),
    row("Formule", esc(quote.result?.label ?? labels.formulas[quote.formula] ?? quote.formula), ' data-summary="formula"'),
    row(
      "Prime totale par an, taxes comprises",
      `<strong data-premium-total="${esc(p.total)}">${euro(p.total)}</strong>`,
    ),
    row("Soit par mois", euro(p.monthly)),
    row("Valable jusqu'au", `<span data-expires="${esc(quote.expires_at)}">${esc(frenchDate(quote.expires_at))}</span>`),
  ];
  if (terms.indemnity_pct !== undefined) rows.push(row("Quotité garantie", pctText(terms.indemnity_pct)));
  if (terms.max_liability !== undefined) rows.push(row("Plafond d'indemnisation par an", euro(terms.max_liability, { cents: false })));
  if (terms.deductible !== undefined) rows.push(row("Franchise par sinistre", euro(terms.deductible, { cents: false })));
  document.getElementById("devis-result-list").innerHTML = rows.join("");
  document.getElementById("devis-result-note").textContent =
    `Prime calculée par notre serveur avec le tarif version ${quote.tariff_version}. ` +
    "Elle peut différer de la simulation si le tarif a changé entre-temps.";
  document.getElementById("devis-subscribe").href = siteUrl(`souscription/?devis=${encodeURIComponent(quote.quote_id)}`);
  result.hidden = false;
  form.hidden = true;
  document.getElementById("devis-result-title").focus();
}

async function main() {
  const config = await requireConfig(status);
  if (!config) return;
  const simulation = readSimulation();
  const request = quoteRequest(simulation);
  if (!request) {
    status.innerHTML =
      `Aucune formule n'est choisie. Faites d'abord une simulation, puis cliquez sur « Demander un devis » ` +
      `sous la formule qui vous convient : <a href="${esc(siteUrl("simulateur/"))}">ouvrir le simulateur</a>.`;
    status.hidden = false;
    status.dataset.kind = "info";
    return;
  }
  showSummary(simulation, request);
  const broker = new URLSearchParams(location.search).get("courtier") ?? simulation.broker_id ?? "";
  form.elements.broker_id.value = broker;
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hideMessage(general);
    if (checkRequired(form, general)) return;
    const email = form.elements.contact_email.value.trim();
    const brokerId = form.elements.broker_id.value.trim();
    const body = { ...request, contact_email: email };
    if (brokerId) body.broker_id = brokerId;
    await busy(form, async () => {
      showMessage(status, "Calcul de votre devis…", "info");
      try {
        const { data } = await api(config, "quotes", { method: "POST", body });
        sessionStorage.setItem(CONTACT_KEY, JSON.stringify({ quote_id: data.quote_id, email }));
        showMessage(status, "Votre devis est prêt.", "success");
        showQuote(data);
      } catch (error) {
        hideMessage(status);
        showApiError(form, general, error, { prefixes: { profile: "Simulation : ", options: "Simulation : " } });
      }
    });
  });
}

main();

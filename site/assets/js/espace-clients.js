// "Mes clients et leurs limites": list the buyers of the owner's policy with their limits, add a
// buyer (SIREN or EU VAT number), request a limit (decided at once or referred), the alerts.
import { LIMIT_KIND, REQUEST_STATUS, esc, euro, failed, frenchDate, row, sendForm, start, withPolicies } from "./espace-common.js";
import { showMessage } from "./service.js";

const status = document.getElementById("clients-status");
const select = document.getElementById("clients-policy");
const section = document.getElementById("clients-section");
const list = document.getElementById("clients-list");
const form = document.getElementById("buyer-form");
const formStatus = document.getElementById("buyer-form-status");
let ctx = null;
let policies = [];

function limitText(buyer) {
  return buyer.current_limit ? euro(buyer.current_limit) : "Aucune limite accordée";
}

function buyerCard(buyer) {
  const id = esc(buyer.buyer_id);
  const steps = buyer.limits
    .map(
      (s) =>
        `<li>${esc(frenchDate(s.at))} : ${esc(LIMIT_KIND[s.kind] ?? s.kind)} — ${euro(s.amount)}, pour les livraisons à partir du ${esc(frenchDate(s.effective_from))}${s.reason ? ` (motif : ${esc(s.reason)})` : ""}</li>`,
    )
    .join("");
  return `<article class="ac-policy" data-buyer="${id}" aria-labelledby="buyer-${id}">
<h3 id="buyer-${id}">${esc(buyer.name)}</h3>
<dl class="ac-summary">
${row(buyer.identifier_type === "siren" ? "SIREN" : "N° de TVA", esc(buyer.identifier))}
${row("Pays", esc(buyer.country))}
${row("Limite en vigueur", limitText(buyer), ' data-limit')}
</dl>
${steps ? `<h4>Historique de la limite</h4><ul class="ac-list">${steps}</ul>` : ""}
<form class="ac-form" novalidate data-limit-form="${id}">
<p class="ac-field"><label for="l-${id}">Limite demandée, en euros</label>
<input id="l-${id}" name="amount" inputmode="decimal" autocomplete="off" required>
<span class="ac-error" data-error-for="amount" hidden></span></p>
<p class="ac-message" role="alert" tabindex="-1" data-limit-status hidden></p>
<p class="ac-actions"><button type="submit" class="md-button">Demander cette limite <span class="ac-sr">pour ${esc(buyer.name)}</span></button></p>
</form>
</article>`;
}

async function loadBuyers() {
  const { data } = await ctx.call(`policies/${encodeURIComponent(select.value)}/buyers`);
  list.innerHTML = data.items.map(buyerCard).join("");
  section.hidden = false;
  form.hidden = false;
  showMessage(
    status,
    data.items.length
      ? `${data.items.length === 1 ? "1 client désigné" : `${data.items.length} clients désignés`} sur ce contrat.`
      : "Aucun client n'est encore désigné sur ce contrat : ajoutez-en un ci-dessous.",
    "info",
  );
}

async function loadAlerts() {
  const { data } = await ctx.call("me/alerts");
  const box = document.getElementById("alerts-list");
  box.innerHTML = data.items.length
    ? data.items.map((a) => `<li><strong>${esc(frenchDate(a.created_at))} — ${esc(a.buyer_name)}</strong> : ${esc(a.message)}</li>`).join("")
    : "<li>Aucune alerte : rien d'anormal n'a été signalé sur vos clients.</li>";
  document.getElementById("alerts-section").hidden = false;
}

async function addBuyer(event) {
  event.preventDefault();
  await sendForm(form, formStatus, status, async () => {
    const raw = form.elements.siren.value.replace(/[\s.]/g, "").toUpperCase();
    const body = { name: form.elements.name.value.trim(), country: form.elements.country.value.trim().toUpperCase() };
    if (/^[A-Z]{2}/.test(raw)) body.vat_number = raw;
    else body.siren = raw;
    const { data } = await ctx.call(`policies/${encodeURIComponent(select.value)}/buyers`, { method: "POST", body });
    form.reset();
    await loadBuyers();
    showMessage(
      status,
      `${data.name} est ajouté à votre contrat. Étape suivante : demandez une limite de crédit sur sa fiche ci-dessous.`,
      "success",
    );
    document.getElementById(`l-${data.buyer_id}`)?.focus();
  });
}

function decisionText(request) {
  if (request.status === "referred") {
    const terms = policies.find((p) => p.policy_id === select.value)?.terms ?? {};
    const meanwhile = terms.automatic_cover
      ? `En attendant, vos livraisons à ce client restent couvertes jusqu'au seuil automatique de votre contrat (${euro(terms.automatic_threshold)}).`
      : "En attendant, vos livraisons à ce client ne sont pas couvertes : votre formule ne garantit que les clients agréés.";
    return `Demande de ${euro(request.amount)} transmise à un gestionnaire : réponse sous 48 heures ouvrées, affichée sur cette page. ${meanwhile}`;
  }
  const amount = euro(request.decided_amount ?? request.amount);
  const label = REQUEST_STATUS[request.status] ?? request.status;
  if (request.status === "refused") return `${label} : ${request.reason ?? ""}`;
  return `${label} : ${amount}, valable dès aujourd'hui pour vos nouvelles livraisons.`;
}

async function requestLimit(limitForm) {
  const buyerId = limitForm.dataset.limitForm;
  const box = limitForm.querySelector("[data-limit-status]");
  await sendForm(limitForm, box, status, async () => {
    const amount = limitForm.elements.amount.value.replace(/\s/g, "").replace(",", ".");
    const { data } = await ctx.call(
      `policies/${encodeURIComponent(select.value)}/buyers/${encodeURIComponent(buyerId)}/limit-requests`,
      { method: "POST", body: { amount } },
    );
    await loadBuyers();
    const card = list.querySelector(`[data-buyer="${CSS.escape(buyerId)}"]`);
    const answer = card.querySelector("[data-limit-status]");
    answer.dataset.request = data.status;
    showMessage(answer, decisionText(data), data.status === "refused" ? "warning" : data.status === "referred" ? "info" : "success");
    answer.focus();
  });
}

async function main() {
  ctx = await start(status, { what: "gérer vos clients et leurs limites de crédit" });
  if (!ctx) return;
  // Listeners first: the lists are drawn before every load ends, and an early click or submit
  // must not reach the browser's own form handling.
  select.addEventListener("change", () => loadBuyers().catch((error) => failed(status, error)));
  form.addEventListener("submit", addBuyer);
  list.addEventListener("submit", (event) => {
    event.preventDefault();
    requestLimit(event.target);
  });
  await withPolicies(ctx, select, status, (active) => {
    policies = active;
    return Promise.all([loadBuyers(), loadAlerts()]);
  });
}

main();

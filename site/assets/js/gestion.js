// "Espace gestionnaire" (staff): referred limit requests to decide, claims to act on (establish,
// settle, reject, record a recovery), the buyer register (view, record an event).
import { CLAIM_STATUS, LIMIT_KIND, downloadLink, esc, euro, failed, frenchDate, loadDocuments, row, sendForm, start } from "./espace-common.js";
import { hideMessage, parisDay, showMessage } from "./service.js";

const status = document.getElementById("staff-status");
const requests = document.getElementById("requests-list");
const claims = document.getElementById("staff-claims-list");
const registerForm = document.getElementById("register-form");
const eventForm = document.getElementById("event-form");
const editForm = document.getElementById("register-edit-form");
let ctx = null;
let identifier = null;

function requestCard(r) {
  const id = esc(r.request_id);
  return `<article class="ac-policy" data-request="${id}" aria-labelledby="req-${id}">
<h3 id="req-${id}">${esc(r.buyer_name)} : ${euro(r.amount)}</h3>
<dl class="ac-summary">
${row("Demandée le", esc(frenchDate(r.created_at)))}
${row("Note du client", r.grade ? `${esc(r.grade)} sur 10` : "non noté")}
${row("Contrat", esc(r.policy_id))}
</dl>
<form class="ac-form" novalidate data-decide="${id}">
<fieldset><legend>Décision <span class="ac-sr">pour ${esc(r.buyer_name)}</span></legend>
<p class="ac-check"><input type="radio" id="d-a-${id}" name="decision" value="approved" checked><label for="d-a-${id}">Accorder</label></p>
<p class="ac-check"><input type="radio" id="d-p-${id}" name="decision" value="partly_approved"><label for="d-p-${id}">Accorder en partie</label></p>
<p class="ac-check"><input type="radio" id="d-r-${id}" name="decision" value="refused"><label for="d-r-${id}">Refuser</label></p>
<span class="ac-error" data-error-for="decision" hidden></span>
</fieldset>
<p class="ac-field"><label for="d-amt-${id}">Montant accordé, en euros <span class="ac-optional">(accord partiel)</span></label>
<input id="d-amt-${id}" name="amount" inputmode="decimal" autocomplete="off">
<span class="ac-error" data-error-for="amount" hidden></span></p>
<p class="ac-field"><label for="d-why-${id}">Motif communiqué à l'assuré</label>
<input id="d-why-${id}" name="reason" autocomplete="off" required>
<span class="ac-error" data-error-for="reason" hidden></span></p>
<p class="ac-message" role="alert" tabindex="-1" data-form-status hidden></p>
<p class="ac-actions"><button type="submit" class="md-button md-button--primary">Enregistrer la décision</button></p>
</form>
</article>`;
}

function claimCard(c) {
  const id = esc(c.claim_id);
  const t = c.timeline ?? {};
  const open = c.status !== "indemnified";
  const main = {
    collection: `<button type="button" class="md-button md-button--primary" data-act="establish" data-claim-id="${id}">Constater le sinistre <span class="ac-sr">${id}</span></button>`,
    claim_established: `<button type="button" class="md-button md-button--primary" data-act="settle" data-claim-id="${id}">Calculer et verser l'indemnité <span class="ac-sr">${id}</span></button>`,
  }[c.status];
  const pct = c.settlement?.indemnity_pct;
  return `<article class="ac-policy" data-claim="${id}" data-status="${esc(c.status)}" aria-labelledby="sc-${id}">
<h3 id="sc-${id}">${id} — ${esc(c.buyer_name)}</h3>
<dl class="ac-summary">
${row("Statut", esc(CLAIM_STATUS[c.status] ?? c.status))}
${row("Facture", `${esc(c.invoice.invoice_number)}, ${euro(c.invoice.amount)}`)}
${row("Déclarée le", esc(frenchDate(c.declared_on)))}
${row("Constitution au plus tard le", esc(frenchDate(t.claim_established)))}
${row("Déjà récupéré", euro(c.recovered))}
${c.indemnity ? row("Indemnité versée", euro(c.indemnity), ` data-indemnity="${esc(c.indemnity)}"`) : ""}
</dl>
<h4>Justificatifs reçus</h4>
<ul class="ac-list" data-documents="${id}"><li>Chargement…</li></ul>
${main ? `<p class="ac-actions">${main}</p>` : ""}
${open ? "" : `<p class="ac-hint">Indemnisé à ${esc(pct)} % : toute somme récupérée désormais revient à l'assureur pour ${esc(pct)} %, le reste à l'assuré.</p>`}
<p class="ac-message" role="alert" tabindex="-1" data-claim-status-box hidden></p>
<form class="ac-form" novalidate data-recovery="${id}">
<div class="ac-grid">
<p class="ac-field"><label for="rc-a-${id}">Somme récupérée, en euros</label><input id="rc-a-${id}" name="amount" inputmode="decimal" autocomplete="off" required><span class="ac-error" data-error-for="amount" hidden></span></p>
<p class="ac-field"><label for="rc-d-${id}">Date d'encaissement</label><input id="rc-d-${id}" name="date" type="date" required><span class="ac-error" data-error-for="date" hidden></span></p>
</div>
<p class="ac-message" role="alert" tabindex="-1" data-form-status hidden></p>
<p class="ac-actions"><button type="submit" class="md-button">Enregistrer la récupération</button></p>
</form>
${open ? `<form class="ac-form" novalidate data-reject="${id}">
<p class="ac-field"><label for="rj-${id}">Motif du refus</label><input id="rj-${id}" name="reason" autocomplete="off" required><span class="ac-error" data-error-for="reason" hidden></span></p>
<p class="ac-message" role="alert" tabindex="-1" data-form-status hidden></p>
<p class="ac-actions"><button type="submit" class="md-button">Refuser le sinistre</button></p>
</form>` : ""}
</article>`;
}

function exposureCard(b) {
  const id = esc(`${b.policy_id}-${b.buyer_id}`);
  const today = parisDay();
  const steps = b.limits
    .map((s) => `<li>${esc(frenchDate(s.at))} : ${esc(LIMIT_KIND[s.kind] ?? s.kind)} — ${euro(s.amount)}, livraisons à partir du ${esc(frenchDate(s.effective_from))}</li>`)
    .join("");
  const change = b.current_limit
    ? `<form class="ac-form" novalidate data-change="${esc(b.policy_id)}" data-buyer-id="${esc(b.buyer_id)}">
<fieldset><legend>Modifier la limite <span class="ac-sr">du contrat ${esc(b.policy_id)}</span></legend>
<p class="ac-check"><input type="radio" id="x-r-${id}" name="action" value="reduce" checked><label for="x-r-${id}">Réduire</label></p>
<p class="ac-check"><input type="radio" id="x-c-${id}" name="action" value="cancel"><label for="x-c-${id}">Résilier</label></p>
</fieldset>
<div class="ac-grid">
<p class="ac-field"><label for="x-amt-${id}">Nouvelle limite, en euros <span class="ac-optional">(réduction)</span></label>
<input id="x-amt-${id}" name="amount" inputmode="decimal" autocomplete="off">
<span class="ac-error" data-error-for="amount" hidden></span></p>
<p class="ac-field"><label for="x-date-${id}">Date d'effet</label>
<input id="x-date-${id}" name="notice_date" type="date" min="${today}" value="${today}" required>
<span class="ac-error" data-error-for="notice_date" hidden></span></p>
</div>
<p class="ac-field"><label for="x-why-${id}">Motif communiqué à l'assuré</label>
<input id="x-why-${id}" name="reason" autocomplete="off" required>
<span class="ac-error" data-error-for="reason" hidden></span></p>
<p class="ac-message" role="alert" tabindex="-1" data-form-status hidden></p>
<p class="ac-actions"><button type="submit" class="md-button">Enregistrer <span class="ac-sr">pour le contrat ${esc(b.policy_id)}</span></button></p>
</form>`
    : "";
  return `<article class="ac-policy" data-exposure="${esc(b.policy_id)}" aria-labelledby="x-${id}">
<h4 id="x-${id}">Contrat ${esc(b.policy_id)} : ${esc(b.name)}</h4>
<dl class="ac-summary">${row("Limite en vigueur aujourd'hui", b.current_limit ? euro(b.current_limit) : "aucune", " data-current-limit")}</dl>
${steps ? `<ul class="ac-list">${steps}</ul>` : ""}
${change}
</article>`;
}

async function loadExposure() {
  const { data } = await ctx.call(`register/${encodeURIComponent(identifier)}/buyers`);
  document.getElementById("exposure-list").innerHTML = data.items.length
    ? data.items.map(exposureCard).join("")
    : "<p>Aucun contrat ne désigne ce client.</p>";
}

async function changeLimit(form) {
  const box = form.querySelector("[data-form-status]");
  await sendForm(form, box, status, async () => {
    const f = form.elements;
    const action = f.action.value;
    const body = { notice_date: f.notice_date.value, reason: f.reason.value.trim() };
    if (action === "reduce") body.amount = money(f.amount.value);
    const path = `policies/${encodeURIComponent(form.dataset.change)}/buyers/${encodeURIComponent(form.dataset.buyerId)}/limit/${action}`;
    const { data } = await ctx.call(path, { method: "POST", body });
    await loadExposure();
    const step = data.limits.at(-1);
    const done = document.getElementById("exposure-status");
    showMessage(
      done,
      `Contrat ${data.policy_id} : ${step.kind === "cancelled" ? "limite annulée" : `limite réduite à ${euro(step.amount)}`} pour les livraisons à partir du ${frenchDate(step.effective_from)}. L'assuré est prévenu.`,
      "success",
    );
    done.focus();
  });
}

async function loadRequests() {
  const { data } = await ctx.call("limit-requests?status=referred&limit=100");
  requests.innerHTML = data.items.length ? data.items.map(requestCard).join("") : "<p>Aucune demande en attente.</p>";
  document.getElementById("requests-section").hidden = false;
  return data.items.length;
}

async function loadClaims() {
  // Established claims first (the insured waits for the money), then collection, then the
  // indemnified ones, where recoveries are still recorded and shared.
  const pages = await Promise.all(
    ["claim_established", "collection", "indemnified"].map((s) => ctx.call(`claims?status=${s}&limit=100`)),
  );
  const items = pages.flatMap((p) => p.data.items);
  claims.innerHTML = items.length ? items.map(claimCard).join("") : "<p>Aucun sinistre à instruire.</p>";
  document.getElementById("staff-claims-section").hidden = false;
  await Promise.all(
    items.map((c) => loadDocuments(ctx, claims.querySelector(`[data-documents="${CSS.escape(c.claim_id)}"]`), c.claim_id, { acceptedOnly: true })),
  );
  return items.filter((c) => c.status !== "indemnified").length;
}

async function refresh(text) {
  const [r, c] = await Promise.all([loadRequests(), loadClaims()]);
  showMessage(status, text ?? `${r} demande(s) de limite à décider, ${c} sinistre(s) à instruire.`, text ? "success" : "info");
}

async function submitForm(form, path, body) {
  const box = form.querySelector("[data-form-status]");
  await sendForm(form, box, status, async () => {
    await ctx.call(path, { method: "POST", body: body() });
    await refresh("Enregistré : l'assuré voit la réponse dans son espace dès maintenant.");
    status.focus();
  });
}

const money = (value) => value.replace(/\s/g, "").replace(",", ".");

function onSubmit(event) {
  event.preventDefault();
  const form = event.target;
  const f = form.elements;
  if (form.dataset.decide) {
    submitForm(form, `limit-requests/${encodeURIComponent(form.dataset.decide)}/decision`, () => {
      const body = { decision: f.decision.value, reason: f.reason.value.trim() };
      if (f.amount.value.trim()) body.amount = money(f.amount.value);
      return body;
    });
  } else if (form.dataset.recovery) {
    submitForm(form, `claims/${encodeURIComponent(form.dataset.recovery)}/recoveries`, () => ({ amount: money(f.amount.value), date: f.date.value }));
  } else if (form.dataset.reject) {
    submitForm(form, `claims/${encodeURIComponent(form.dataset.reject)}/reject`, () => ({ reason: f.reason.value.trim() }));
  }
}

async function act(button) {
  const card = button.closest("[data-claim]");
  const box = card.querySelector("[data-claim-status-box]");
  button.disabled = true;
  try {
    const { data } = await ctx.call(`claims/${encodeURIComponent(button.dataset.claimId)}/${button.dataset.act}`, { method: "POST" });
    await refresh(
      data.status === "indemnified"
        ? `Sinistre ${data.claim_id} indemnisé : ${euro(data.indemnity)}. L'assuré le voit dans son espace.`
        : `Sinistre ${data.claim_id} constitué : calculez maintenant l'indemnité.`,
    );
    status.focus();
  } catch (error) {
    button.disabled = false;
    if (error.status === 401) failed(status, error);
    else {
      showMessage(box, error.message, "error");
      box.focus();
    }
  }
}

function showEntry(entry) {
  const events = entry.events.length
    ? `<ul class="ac-list">${entry.events.map((e) => `<li>${esc(frenchDate(e.date))} : ${e.type === "insolvency_judgment" ? `jugement d'ouverture (${esc(e.kind)})` : "incident de paiement"}</li>`).join("")}</ul>`
    : "<p>Aucun événement enregistré.</p>";
  document.getElementById("register-entry-body").innerHTML = `<h3>${esc(entry.name)} (${esc(entry.identifier)})</h3>
<dl class="ac-summary">${row("Pays", esc(entry.country))}${row("Note", entry.grade ? `${esc(entry.grade)} sur 10` : "non noté")}${row("Mise à jour", esc(frenchDate(entry.updated_at)))}</dl>
<h4>Événements</h4>${events}`;
  document.getElementById("register-entry").hidden = false;
}

/** The register form, filled from ``entry`` (or empty to add the company looked up). */
function editEntry(entry) {
  const f = editForm.elements;
  hideMessage(document.getElementById("register-edit-status"));
  document.getElementById("register-edit-title").textContent = entry ? "Modifier la fiche" : `Ajouter ${identifier} au registre`;
  f.name.value = entry?.name ?? "";
  f.country.value = entry?.country ?? (/^[A-Z]{2}/.test(identifier) ? identifier.slice(0, 2) : "FR");
  f.grade.value = entry?.grade ?? "";
  editForm.hidden = false;
}

async function saveEntry(event) {
  event.preventDefault();
  const box = document.getElementById("register-edit-status");
  await sendForm(editForm, box, status, async () => {
    const f = editForm.elements;
    const body = { name: f.name.value.trim(), country: f.country.value.trim().toUpperCase() };
    if (f.grade.value.trim()) body.grade = Number(f.grade.value.trim());
    const { data } = await ctx.call(`register/${encodeURIComponent(identifier)}`, { method: "PUT", body });
    showEntry(data);
    editEntry(data);
    await loadExposure();
    showMessage(box, "Fiche enregistrée : les prochaines demandes de limite sur ce client tiennent compte de cette note.", "success");
    box.focus();
  });
}

async function lookUp(event) {
  event.preventDefault();
  const box = document.getElementById("register-form-status");
  hideMessage(document.getElementById("exposure-status"));
  const notFound = (error) => {
    document.getElementById("register-entry").hidden = true;
    if (error.status !== 404) return false;
    editEntry(null);
    showMessage(box, `${error.message} Vous pouvez l'ajouter avec le formulaire ci-dessous.`, "info");
    editForm.elements.name.focus();
    return true;
  };
  await sendForm(registerForm, box, status, async () => {
    identifier = registerForm.elements.identifier.value.replace(/[\s.]/g, "").toUpperCase();
    const { data } = await ctx.call(`register/${encodeURIComponent(identifier)}`);
    showEntry(data);
    editEntry(data);
    await loadExposure();
  }, { onError: notFound });
}

async function recordEvent(event) {
  event.preventDefault();
  const box = document.getElementById("event-form-status");
  await sendForm(eventForm, box, status, async () => {
    const f = eventForm.elements;
    const body = { type: f.type.value, date: f.date.value };
    if (f.kind.value) body.kind = f.kind.value;
    const { data } = await ctx.call(`register/${encodeURIComponent(identifier)}/events`, { method: "POST", body });
    showEntry(data.entry);
    showMessage(box, `Événement enregistré : ${data.alerts_sent} assuré(s) alerté(s).`, "success");
    box.focus();
  });
}

async function main() {
  ctx = await start(status, { what: "accéder à l'espace gestionnaire" });
  if (!ctx) return;
  eventForm.elements.date.value = parisDay();
  // The lists are drawn before their documents finish loading: their listeners must be there
  // first, or an early click on a drawn card does nothing.
  requests.addEventListener("submit", onSubmit);
  claims.addEventListener("submit", onSubmit);
  claims.addEventListener("click", (event) => {
    const button = event.target.closest("[data-act]");
    if (button) act(button);
    const download = event.target.closest("[data-download]");
    if (download) downloadLink(ctx, download, status);
  });
  registerForm.addEventListener("submit", lookUp);
  editForm.addEventListener("submit", saveEntry);
  document.getElementById("exposure-list").addEventListener("submit", (event) => {
    event.preventDefault();
    changeLimit(event.target);
  });
  eventForm.addEventListener("submit", recordEvent);
  try {
    await refresh();
  } catch (error) {
    failed(status, error, "Cet espace est réservé aux gestionnaires : votre compte n'y a pas accès.");
    return;
  }
  document.getElementById("register-section").hidden = false;
}

main();

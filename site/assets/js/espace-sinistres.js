// "Mes impayés et sinistres": declare an overdue invoice (the engine's answer at once: accepted
// with the timeline, or rejected with its reasons), the claims with status, history and documents
// (presigned POST upload, then confirm; list; presigned download link).
import { CLAIM_STATUS, DOCUMENT_KIND, HISTORY_ACTION, downloadLink, esc, euro, failed, frenchDate, loadDocuments, row, sendForm, start, withPolicies } from "./espace-common.js";
import { parisDay, showMessage } from "./service.js";

const status = document.getElementById("claims-status");
const select = document.getElementById("claims-policy");
const form = document.getElementById("declare-form");
const formStatus = document.getElementById("declare-status");
const result = document.getElementById("declare-result");
const list = document.getElementById("claims-list");
let ctx = null;


/** What happens next for a claim, with its dates. */
function nextSteps(claim) {
  const t = claim.timeline ?? {};
  switch (claim.status) {
    case "collection": {
      // The dates are the engine's (timeline of the policy's frozen terms).
      return `Déclaration acceptée. Nous engageons le recouvrement amiable auprès de ${esc(claim.buyer_name)} dès maintenant. Sans paiement, le sinistre sera constitué le ${esc(frenchDate(t.claim_established))} ; l'indemnité vous sera alors versée vers le ${esc(frenchDate(t.expected_payment))}. Envoyez dès maintenant vos justificatifs ci-dessous.`;
    }
    case "claim_established":
      return `Sinistre constitué : un gestionnaire calcule votre indemnité, versée vers le ${esc(frenchDate(t.expected_payment))}.`;
    case "indemnified":
      return `Indemnité de ${euro(claim.indemnity)} calculée le ${esc(frenchDate(claim.settlement?.settled_at))} : elle est virée sur le compte indiqué au contrat sous quelques jours. Si votre client paie ensuite, la somme récupérée est partagée selon votre contrat.`;
    case "recovered":
      return "Votre client a payé : le dossier est clos.";
    case "rejected":
      return `Déclaration refusée : ${esc(claim.rejection_reason ?? claim.reasons.map((r) => r.message).join(" "))} Vous pouvez nous contacter si vous pensez qu'il s'agit d'une erreur.`;
    default:
      return "";
  }
}

function timeline(claim) {
  const t = claim.timeline ?? {};
  return `<dl class="ac-summary">
${row("Échéance de la facture", esc(frenchDate(t.effective_due_date ?? t.due_date)))}
${row("Déclaration à faire au plus tard le", esc(frenchDate(t.declaration_deadline)))}
${row("Déclarée le", esc(frenchDate(t.declared_on ?? claim.declared_on)))}
${t.claim_established ? row("Sinistre constitué le", esc(frenchDate(t.claim_established))) : ""}
</dl>`;
}

/** What was recovered from the buyer and, after the indemnity, how it was shared. */
function recoveryRows(claim) {
  if (!claim.recoveries.length) return "";
  const after = claim.recoveries.filter((r) => r.after_indemnity);
  const sum = (key) => after.reduce((total, r) => total + Math.round(Number(r[key]) * 100), 0) / 100;
  return `${row("Récupéré auprès du client", euro(claim.recovered), ` data-recovered="${esc(claim.recovered)}"`)}${
    after.length
      ? `${row("Dont reversé à l'assureur (après indemnité)", euro(sum("insurer_share").toFixed(2)))}${row("Dont votre part", euro(sum("owner_share").toFixed(2)), ` data-owner-share="${esc(sum("owner_share").toFixed(2))}"`)}`
      : ""
  }`;
}

function claimCard(claim) {
  const id = esc(claim.claim_id);
  const history = claim.history
    .map((h) => `<li>${esc(frenchDate(h.at))} : ${esc(HISTORY_ACTION[h.action] ?? h.action)}</li>`)
    .join("");
  const docsForm =
    claim.status === "rejected"
      ? ""
      : `<form class="ac-form" novalidate data-upload="${id}">
<h4>Envoyer un justificatif</h4>
<div class="ac-grid">
<p class="ac-field"><label for="k-${id}">Type de document</label>
<select id="k-${id}" name="kind">${Object.entries(DOCUMENT_KIND).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join("")}</select></p>
<p class="ac-field"><label for="f-${id}">Fichier (PDF, JPEG ou PNG, 10 Mo au plus)</label>
<input id="f-${id}" name="file" type="file" accept="application/pdf,image/jpeg,image/png" required>
<span class="ac-error" data-error-for="file" hidden></span></p>
</div>
<p class="ac-message" role="alert" tabindex="-1" data-upload-status hidden></p>
<p class="ac-actions"><button type="submit" class="md-button">Envoyer <span class="ac-sr">pour le dossier ${id}</span></button></p>
</form>`;
  return `<article class="ac-policy ac-claim" data-claim="${id}" data-status="${esc(claim.status)}" aria-labelledby="claim-${id}">
<h3 id="claim-${id}">Facture ${esc(claim.invoice.invoice_number)} — ${esc(claim.buyer_name)}</h3>
<dl class="ac-summary">
${row("Dossier", id)}
${row("Montant déclaré", euro(claim.invoice.amount))}
${row("Statut", esc(CLAIM_STATUS[claim.status] ?? claim.status), ' data-claim-status')}
${claim.indemnity ? row("Indemnité", euro(claim.indemnity), ` data-indemnity="${esc(claim.indemnity)}"`) : ""}
${recoveryRows(claim)}
</dl>
<p class="ac-next"><strong>Et ensuite ?</strong> ${nextSteps(claim)}</p>
${timeline(claim)}
<h4>Historique</h4>
<ol class="ac-list">${history}</ol>
<h4>Justificatifs</h4>
<ul class="ac-list" data-documents="${id}"><li>Chargement…</li></ul>
${docsForm}
</article>`;
}

function documentsOf(claimId) {
  const box = list.querySelector(`[data-documents="${CSS.escape(claimId)}"]`);
  return box ? loadDocuments(ctx, box, claimId) : null;
}

async function loadClaims() {
  const { data } = await ctx.call(`policies/${encodeURIComponent(select.value)}/claims`);
  list.innerHTML = data.items.length ? data.items.map(claimCard).join("") : "<p>Aucune déclaration sur ce contrat.</p>";
  document.getElementById("claims-section").hidden = false;
  await Promise.all(data.items.map((c) => documentsOf(c.claim_id)));
}

async function loadBuyers() {
  const { data } = await ctx.call(`policies/${encodeURIComponent(select.value)}/buyers`);
  const buyers = form.elements.buyer_id;
  buyers.innerHTML = data.items.map((b) => `<option value="${esc(b.buyer_id)}">${esc(b.name)}</option>`).join("");
  form.hidden = false;
  if (!data.items.length) {
    form.hidden = true;
    status.innerHTML = `Désignez d'abord le client sur votre contrat : <a href="../espace-clients/">Mes clients et leurs limites</a>.`;
    status.hidden = false;
    status.dataset.kind = "info";
  }
}

async function declare(event) {
  event.preventDefault();
  await sendForm(form, formStatus, status, async () => {
    const f = form.elements;
    const body = {
      buyer_id: f.buyer_id.value,
      invoice_number: f.invoice_number.value.trim(),
      invoice_date: f.invoice_date.value,
      due_date: f.due_date.value,
      amount: f.amount.value.replace(/\s/g, "").replace(",", "."),
      vat_included: f.vat_included.checked,
      extension_days: Number(f.extension_days.value || 0),
    };
    const { data: claim } = await ctx.call(`policies/${encodeURIComponent(select.value)}/declarations`, { method: "POST", body });
    const accepted = claim.status !== "rejected";
    const reasons = accepted ? "" : `<ul class="ac-list">${claim.reasons.map((r) => `<li>${esc(r.message)}</li>`).join("")}</ul>`;
    document.getElementById("declare-result-body").innerHTML = `<p class="ac-message" data-kind="${accepted ? "success" : "warning"}" data-outcome="${accepted ? "accepted" : "rejected"}">${
      accepted ? `Déclaration acceptée (dossier ${esc(claim.claim_id)}).` : `Déclaration non garantie (dossier ${esc(claim.claim_id)}) pour les raisons suivantes :`
    }</p>${reasons}<p><strong>Et ensuite ?</strong> ${nextSteps(claim)}</p>${timeline(claim)}`;
    result.hidden = false;
    form.reset();
    document.getElementById("declare-result-title").focus();
    await loadClaims();
  });
}

async function upload(uploadForm) {
  const claimId = uploadForm.dataset.upload;
  const box = uploadForm.querySelector("[data-upload-status]");
  // A file refused after its check stays listed as refused, with the reason.
  const refused = async (error) => {
    if (error.code === "document_rejected") await documentsOf(claimId).catch(() => {});
    return false;
  };
  await sendForm(uploadForm, box, status, async () => {
    const file = uploadForm.elements.file.files[0];
    const { data } = await ctx.call(`claims/${encodeURIComponent(claimId)}/documents`, {
      method: "POST",
      body: { kind: uploadForm.elements.kind.value, filename: file.name, content_type: file.type, size: file.size },
    });
    const payload = new FormData();
    for (const [k, v] of Object.entries(data.upload.fields)) payload.append(k, v);
    payload.append("file", file);
    let sent;
    try {
      sent = await fetch(data.upload.url, { method: "POST", body: payload });
    } catch {
      sent = null;
    }
    if (!sent?.ok) throw Object.assign(new Error("L'envoi du fichier a échoué : réessayez dans quelques instants."), { fields: [] });
    const { data: doc } = await ctx.call(`claims/${encodeURIComponent(claimId)}/documents/${encodeURIComponent(data.document.document_id)}/confirm`, { method: "POST" });
    await documentsOf(claimId);
    uploadForm.reset();
    showMessage(box, `${doc.filename} est reçu et joint à votre dossier : le gestionnaire en tient compte dès maintenant.`, "success");
    box.focus();
  }, { onError: refused, prefixes: { content_type: "Type de fichier : ", size: "Taille : " } });
}

async function main() {
  ctx = await start(status, { what: "déclarer un impayé et suivre vos sinistres" });
  if (!ctx) return;
  form.elements.invoice_date.max = parisDay();
  // Listeners first: the lists are drawn before every load ends, and an early click or submit
  // must not reach the browser's own form handling.
  select.addEventListener("change", () => Promise.all([loadBuyers(), loadClaims()]).catch((error) => failed(status, error)));
  form.addEventListener("submit", declare);
  list.addEventListener("submit", (event) => {
    event.preventDefault();
    upload(event.target);
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-download]");
    if (button) downloadLink(ctx, button, status);
  });
  await withPolicies(ctx, select, status, () => Promise.all([loadBuyers(), loadClaims()]));
}

main();

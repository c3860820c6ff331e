// Engine responses to HTML, for the browser and for the build (Node renders the first paint
// with this very module, so both show the same markup). Pure functions: data in, strings out.

export const FORMULAS = ["essentielle", "selection", "tout_compris"];
export const OUTCOMES = ["none", ...FORMULAS];
const NNBSP = "\u202f"; // French thousands separator
const NBSP = "\u00a0";
// Colours and dash patterns of the chart: never colour alone.
export const SERIES_STYLE = {
  none: { colour: "#a4262c", dash: "" },
  essentielle: { colour: "#0f6cbd", dash: "6 3" },
  selection: { colour: "#6b4e00", dash: "2 3" },
  tout_compris: { colour: "#1f7a3a", dash: "10 3 2 3" },
};

/** Escape text for HTML content and attribute values. */
export function esc(value) {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function group(digits) {
  const out = [];
  for (let end = digits.length; end > 0; end -= 3) out.unshift(digits.slice(Math.max(0, end - 3), end));
  return out.join(NNBSP);
}

/** "12345.6" -> "12 345,60 €" from the engine's decimal string, with no float on the way. */
export function euro(text, { cents = true } = {}) {
  if (text === null || text === undefined || text === "") return "—";
  let [whole, frac = ""] = String(text).split(".");
  const negative = whole.startsWith("-");
  whole = whole.replace("-", "");
  if (!cents) {
    // Round to the euro, half up, on the digits themselves.
    if (frac && Number(frac[0]) >= 5) whole = (BigInt(whole) + 1n).toString();
    return `${negative ? "-" : ""}${group(whole)}${NBSP}€`;
  }
  frac = (frac + "00").slice(0, 2);
  return `${negative ? "-" : ""}${group(whole)},${frac}${NBSP}€`;
}

/** A fraction as a percentage: "0.0123" -> "1,23 %" (at most `digits` decimals). */
export function percent(fraction, digits = 2) {
  const value = Number(fraction) * 100;
  if (!Number.isFinite(value)) return "—";
  const rounded = value.toFixed(digits).replace(/\.?0+$/, "");
  return `${rounded.replace(".", ",")}${NBSP}%`;
}

/** An engine percent string ("85") as "85 %". */
export function pctText(text) {
  return `${String(text).replace(".", ",")}${NBSP}%`;
}

export function isoToFrench(iso) {
  if (!iso) return "—";
  const [y, m, d] = iso.split("-");
  return `${d}/${m}/${y}`;
}

/** A table that may scroll sideways on a phone: focusable and named, so the keyboard can scroll it. */
function scrollBox(label, table) {
  return `<div class="sim-scroll" tabindex="0" role="region" aria-label="${esc(label)}">${table}</div>`;
}

function row(label, value, attrs = "") {
  return `<div class="sim-row"${attrs}><dt>${esc(label)}</dt><dd>${value}</dd></div>`;
}

function card(result, recommended) {
  const f = result.formula;
  const badge = recommended ? `<p class="sim-badge">Recommandée pour vous</p>` : "";
  if (!result.available) {
    return `<article class="sim-card sim-card--off" data-formula="${esc(f)}" aria-labelledby="sim-title-${esc(f)}">
<h3 id="sim-title-${esc(f)}">${esc(result.label)}</h3>
<p class="sim-unavailable">${esc(result.error?.message ?? "Formule indisponible pour ce profil.")}</p>
</article>`;
  }
  const p = result.premium;
  const t = result.terms;
  const auto = t.automatic_cover ? euro(t.automatic_threshold, { cents: false }) : "Non (clients désignés seulement)";
  const named = t.named_limits.length
    ? `<ul class="sim-limits">${t.named_limits
        .map((l) => `<li>${esc(l.buyer)} : ${l.status === "refused" ? "refusée" : euro(l.limit, { cents: false })}</li>`)
        .join("")}</ul>`
    : "Aucun";
  return `<article class="sim-card${recommended ? " sim-card--best" : ""}" data-formula="${esc(f)}" aria-labelledby="sim-title-${esc(f)}">
<h3 id="sim-title-${esc(f)}">${esc(result.label)}</h3>
${badge}
<p class="sim-total" elementtiming="premium"><span class="sim-amount" data-premium-total="${esc(p.total)}">${euro(p.total)}</span> <span class="sim-unit">TTC par an</span></p>
<p class="sim-monthly">soit <span data-premium-monthly="${esc(p.monthly)}">${euro(p.monthly)}</span> par mois${result.payment === "monthly" ? " (paiement mensuel)" : ""}</p>
<dl class="sim-terms">
${row("Prime nette", euro(p.net))}
${row("Frais de service", euro(p.fees))}
${row("Taxe d'assurance", euro(p.tax))}
${row("Taux sur le chiffre d'affaires assuré", `${esc(result.rate_per_mille.replace(".", ","))}${NBSP}‰`)}
${row("Quotité garantie", pctText(t.indemnity_pct), ' data-term="indemnity_pct"')}
${row("Plafond d'indemnisation par an", euro(t.max_liability, { cents: false }), ' data-term="max_liability"')}
${row("Garantie automatique par client", auto, ' data-term="automatic_threshold"')}
${row("Limites sur clients désignés", named)}
${row("Franchise par sinistre", euro(t.deductible, { cents: false }))}
</dl>
<p class="sim-services-title">Services inclus</p>
<ul class="sim-services">${result.services.map((s) => `<li>${esc(s)}</li>`).join("")}</ul>
</article>`;
}

function explanation(result, withTable) {
  if (!result.available) return "";
  const summary = `<summary>Le calcul de la prime ${esc(result.label)}, facteur par facteur</summary>`;
  if (!withTable) return `<details class="sim-explain" data-formula="${esc(result.formula)}">\n${summary}\n</details>`;
  const steps = result.explanation
    .map(
      (s) =>
        `<tr><th scope="row">${esc(s.label)}</th><td>${esc(s.value)}</td><td class="sim-num">${euro(s.effect)}</td></tr>`,
    )
    .join("");
  const fees = result.fees
    .map(
      (fee) =>
        `<tr><th scope="row">${esc(fee.label)}</th><td>${esc(fee.quantity)} × ${euro(fee.unit_price)}</td><td class="sim-num">${euro(fee.amount)}</td></tr>`,
    )
    .join("");
  const p = result.premium;
  return `<details class="sim-explain" data-formula="${esc(result.formula)}">
${summary}
${scrollBox(`Calcul de la prime ${result.label}`, `<table>
<caption>Prime ${esc(result.label)} : chaque facteur et son effet en euros</caption>
<thead><tr><th scope="col">Facteur</th><th scope="col">Valeur</th><th scope="col">Effet</th></tr></thead>
<tbody>${steps}</tbody>
<tbody class="sim-subtotal"><tr><th scope="row">Prime nette</th><td></td><td class="sim-num">${euro(p.net)}</td></tr>${fees}
<tr><th scope="row">Taxe sur les conventions d'assurance</th><td>9 % de la part France, 0 % à l'export</td><td class="sim-num">${euro(p.tax)}</td></tr>
<tr><th scope="row">Total par an</th><td></td><td class="sim-num"><strong>${euro(p.total)}</strong></td></tr></tbody>
</table>`)}
</details>`;
}

/** The three formulas side by side, the recommendation and the factor-by-factor explanations.
 * `explain(formula)` says which explanations get their table: the page leaves out those of
 * closed ones (most of the markup) and adds a table when its explanation is opened. */
export function renderCompare(result, { explain = () => true } = {}) {
  const best = result.recommended.formula;
  const cards = result.formulas.map((r) => card(r, r.formula === best)).join("\n");
  const reasons = result.recommended.reasons.map((r) => `<li data-reason="${esc(r.code)}">${esc(r.message)}</li>`).join("");
  return `<div class="sim-cards">${cards}</div>
<section class="sim-reco" data-formula="${esc(best)}" aria-labelledby="sim-reco-title">
<h3 id="sim-reco-title">Notre recommandation : ${esc(result.recommended.label)}</h3>
<ul>${reasons}</ul>
</section>
<div class="sim-explains">${result.formulas.map((r) => explanation(r, explain(r.formula))).join("\n")}</div>`;
}

/** The three totals in one line, kept in view above the form: the numbers answer each change
 * where the visitor is typing. Each total carries the engine's exact string, as in the cards. */
export function renderSummary(result) {
  const best = result.recommended.formula;
  const items = result.formulas
    .map((r) => {
      const name = `<span class="sim-summary-name">${esc(r.label)}</span>`;
      const tag = r.formula === best ? ` <span class="sim-summary-tag">recommandée</span>` : "";
      const value = r.available
        ? `<span class="sim-summary-amount" elementtiming="premium" data-premium-total="${esc(r.premium.total)}">${euro(r.premium.total, { cents: false })}</span>`
        : `<span class="sim-summary-off">indisponible</span>`;
      return `<li data-formula="${esc(r.formula)}"${r.formula === best ? ' class="sim-summary-best"' : ""}>${name}${tag} ${value}</li>`;
    })
    .join("");
  return `<ul class="sim-summary-list">${items}</ul>`;
}

/** What the owner would receive under each formula if one invoice went unpaid. */
export function renderWhatIf(settled, labels) {
  const rows = FORMULAS.filter((f) => settled[f])
    .map((f) => {
      const res = settled[f];
      if (res.error) {
        return `<tr data-formula="${esc(f)}"><th scope="row">${esc(labels[f])}</th><td colspan="4">${esc(res.error.message)}</td></tr>`;
      }
      const inv = res.invoices[0];
      const reasons = inv.reasons.length
        ? `<ul>${inv.reasons.map((r) => `<li data-reason="${esc(r.code)}">${esc(r.message)}</li>`).join("")}</ul>`
        : "Créance garantie.";
      const t = inv.timeline;
      const timeline = inv.eligible
        ? `<ul class="sim-timeline"><li>Déclarer au plus tard le ${isoToFrench(t.declaration_deadline)}</li><li>Sinistre constaté le ${isoToFrench(t.claim_established)}</li><li>Indemnité versée vers le ${isoToFrench(t.expected_payment)}</li></ul>`
        : `<ul class="sim-timeline"><li>Date limite de déclaration : ${isoToFrench(t.declaration_deadline)}</li></ul>`;
      return `<tr data-formula="${esc(f)}" data-eligible="${inv.eligible}">
<th scope="row">${esc(labels[f])}</th>
<td class="sim-num"><span data-indemnity="${esc(inv.indemnity)}">${euro(inv.indemnity)}</span></td>
<td class="sim-num">${euro(inv.kept_loss)}</td>
<td>${reasons}</td>
<td>${timeline}</td>
</tr>`;
    })
    .join("\n");
  return scrollBox("Indemnité par formule", `<table class="sim-whatif-table">
<caption>Ce que vous toucheriez, formule par formule (montants hors taxes)</caption>
<thead><tr><th scope="col">Formule</th><th scope="col">Indemnité</th><th scope="col">Perte restant à votre charge</th><th scope="col">Pourquoi</th><th scope="col">Calendrier</th></tr></thead>
<tbody>${rows}</tbody>
</table>`);
}

function survivalAtEdges(masses) {
  // P(loss kept >= edges[i]) for i = 1..n, from the masses of the bars before it.
  const points = [];
  let left = 1;
  for (const m of masses) {
    left -= Number(m);
    points.push(Math.max(0, left));
  }
  return points;
}

function chart(result) {
  const { edges, series } = result.histogram;
  const names = OUTCOMES.filter((o) => series[o]);
  const width = 640;
  const height = 300;
  const pad = { left: 64, right: 16, top: 16, bottom: 48 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = Number(edges[edges.length - 1]) || 1;
  const curves = Object.fromEntries(names.map((n) => [n, survivalAtEdges(series[n])]));
  const yNice = niceCeil(Math.max(0.0001, ...names.map((n) => curves[n][0])));
  const x = (value) => (pad.left + (value / top) * plotW).toFixed(1);
  const y = (prob) => (pad.top + plotH - (prob / yNice) * plotH).toFixed(1);
  const paths = names
    .map((n) => {
      const pts = curves[n];
      // Flat over the first bar (its years lose little or nothing), then from edge to edge.
      let d = `M${x(0)},${y(pts[0])} H${x(Number(edges[1]))}`;
      for (let i = 1; i < pts.length; i++) d += ` L${x(Number(edges[i + 1]))},${y(pts[i])}`;
      const style = SERIES_STYLE[n];
      return `<path d="${d}" fill="none" stroke="${style.colour}" stroke-width="2.5" stroke-dasharray="${style.dash}" data-series="${esc(n)}"/>`;
    })
    .join("");
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const yTicks = ticks
    .map((f) => {
      const v = f * yNice;
      return `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" class="sim-grid"/><text x="${pad.left - 6}" y="${Number(y(v)) + 4}" text-anchor="end">${esc(percent(v, 1))}</text>`;
    })
    .join("");
  const xTicks = ticks
    .map((f) => `<text x="${x(f * top)}" y="${height - pad.bottom + 18}" text-anchor="middle">${esc(euro((f * top).toFixed(0), { cents: false }))}</text>`)
    .join("");
  return `<svg class="sim-chart" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="sim-chart-title sim-chart-desc" preserveAspectRatio="xMidYMid meet">
<title id="sim-chart-title">Probabilité de perdre plus qu'un montant donné dans l'année</title>
<desc id="sim-chart-desc">${esc(chartSummary(result))}</desc>
${yTicks}${xTicks}
<text x="${pad.left + plotW / 2}" y="${height - 8}" text-anchor="middle">Perte restant à votre charge sur l'année</text>
${paths}
</svg>`;
}

function niceCeil(value) {
  const exponent = Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) {
    const candidate = m * 10 ** exponent;
    if (candidate >= value) return candidate;
  }
  return 10 ** (exponent + 1);
}

function chartSummary(result) {
  return result.outcomes
    .filter((o) => o.available)
    .map(
      (o) =>
        `${o.label} : perte annuelle moyenne ${euro(o.expected_kept_loss, { cents: false })}, une année sur cent au-delà de ${euro(o.kept_loss_q99, { cents: false })}`,
    )
    .join(" ; ");
}

/** Loss kept per year with no cover and under each formula: chart, key figures, text alternative. */
export function renderPortfolio(result) {
  const cushion = euro(result.cash_cushion, { cents: false });
  const legend = result.outcomes
    .filter((o) => o.available)
    .map((o) => {
      const s = SERIES_STYLE[o.formula];
      return `<li data-formula="${esc(o.formula)}"><svg width="36" height="10" aria-hidden="true" focusable="false"><line x1="0" x2="36" y1="5" y2="5" stroke="${s.colour}" stroke-width="3" stroke-dasharray="${s.dash}"/></svg>${esc(o.label)}</li>`;
    })
    .join("");
  const range = (o, key, format) => {
    const [low, high] = o.ranges[key];
    return low === high ? format(high) : `${format(low)} à ${format(high)}`;
  };
  const rows = result.outcomes
    .filter((o) => o.available)
    .map(
      (o) => `<tr data-formula="${esc(o.formula)}">
<th scope="row">${esc(o.label)}</th>
<td class="sim-num">${o.formula === "none" ? "—" : euro(o.premium_total, { cents: false })}</td>
<td class="sim-num">${euro(o.expected_kept_loss, { cents: false })}</td>
<td class="sim-num" data-q99="${esc(o.kept_loss_q99)}">${range(o, "kept_loss_q99", (v) => euro(v, { cents: false }))}</td>
<td class="sim-num" data-exceeds="${esc(o.prob_exceeds_cushion)}">${range(o, "prob_exceeds_cushion", (v) => percent(v, 2))}</td>
<td class="sim-num">${o.formula === "none" ? "—" : euro(o.expected_indemnity, { cents: false })}</td>
</tr>`,
    )
    .join("\n");
  return `<figure class="sim-figure">
${chart(result)}
<figcaption>Chaque courbe donne, pour un montant, la probabilité que la perte de l'année restant à votre charge le dépasse. Plus la courbe est basse, mieux vous êtes protégé.</figcaption>
<ul class="sim-legend">${legend}</ul>
</figure>
${scrollBox("Pertes sur impayés par couverture", `<table class="sim-risk-table">
<caption>Vos pertes sur impayés en une année, selon la couverture (trésorerie de sécurité : ${cushion})</caption>
<thead><tr><th scope="col">Couverture</th><th scope="col">Prime par an</th><th scope="col">Perte moyenne par an</th><th scope="col">Une année sur cent, perte au-delà de</th><th scope="col">Risque de dépasser votre trésorerie</th><th scope="col">Indemnité moyenne par an</th></tr></thead>
<tbody>${rows}</tbody>
</table>`)}`;
}

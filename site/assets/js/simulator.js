// The simulator page: reads the form, asks the engine (Pyodide in a worker) and shows the
// results. The first results come from the build; the form works while the engine loads.
import { patch } from "./patch.mjs";
import { FORMULAS, renderCompare, renderPortfolio, renderSummary, renderWhatIf } from "./render.mjs";

const root = document.getElementById("sim");
const boot = JSON.parse(document.getElementById("sim-boot").textContent);
const config = JSON.parse(document.getElementById("sim-config").textContent);
const forms = {
  main: document.getElementById("sim-form"), // the profile's forms, one per group of fields
  whatif: document.getElementById("sim-whatif-form"),
  risk: document.getElementById("sim-risk-form"),
};
const out = {
  compare: document.getElementById("sim-compare"),
  summary: document.getElementById("sim-summary-body"),
  whatif: document.getElementById("sim-whatif"),
  portfolio: document.getElementById("sim-portfolio"),
  status: document.getElementById("sim-status-text"),
  progress: document.getElementById("sim-progress"),
};
const buyersBox = document.getElementById("sim-buyers");
const SECONDARY_DELAY_MS = 200; // what-if and portfolio wait for typing to pause
// Silent compare requests once the engine is ready (see warmUp): about what V8 needs to compile
// and then optimise the engine's path.
const WARM_UP_CALLS = 10;
const WHITESPACE = /[\s\u00a0\u202f]/g;

// State shared with tests and the benchmark (read-only for them).
const sim = {
  ready: null,
  info: null,
  lastRequests: null,
  results: { ...boot.results },
  updates: [], // {ms} from an input event to the premiums on screen
};
window.__sim = sim;

// --- the engine worker ---------------------------------------------------------------

class Engine {
  /** Talks to the worker; takes over the one the page started early (see simulator.html) if any.
   * ``onprogress({step, steps})`` hears the steps of the engine's start. */
  constructor(url, config, early, onprogress = null) {
    this.onprogress = onprogress;
    this.pending = new Map();
    this.nextId = 1;
    this.worker = early?.worker ?? new Worker(url, { type: "module" });
    let initId = early?.initId;
    if (initId === undefined) {
      initId = this.nextId++;
      this.worker.postMessage({ id: initId, op: "init", request: config });
    }
    this.ready = new Promise((resolve, reject) => this.pending.set(initId, { resolve, reject }));
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      for (const call of this.pending.values()) call.reject(new Error(event.message || "worker error"));
      this.pending.clear();
    };
    for (const data of early?.received ?? []) this.receive(data); // answers that came before us
    if (early?.failed) this.worker.onerror({ message: early.failed });
  }

  receive(data) {
    if (data.progress) {
      this.onprogress?.(data.progress);
      return;
    }
    const call = this.pending.get(data.id);
    if (!call) return;
    this.pending.delete(data.id);
    if ("error" in data) call.reject(new Error(data.error));
    else call.resolve(data.result);
  }

  call(op, request) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, request });
    });
  }
}

/** The worker resolves URLs against its own script: hand it absolute ones. */
function absoluteURL(url) {
  return new URL(url, document.baseURI).href;
}

// The engine whose files an earlier visit's worker kept (its keptFiles). The worker looks there
// first only when this names the engine it starts: a first visit goes to the network at once.
const KEPT_KEY = "ac-engine-kept";

function keptBefore(engineId) {
  try {
    return localStorage.getItem(KEPT_KEY) === engineId;
  } catch {
    return false; // storage refused (privacy settings): the worker goes to the network
  }
}

function noteKept(engineId) {
  try {
    localStorage.setItem(KEPT_KEY, engineId);
  } catch {
    // Only the next visit's speed depends on it.
  }
}

function engineConfig(config) {
  const out = { ...config, cached: keptBefore(config.engine) };
  for (const key of Object.keys(out)) if (key.endsWith("URL") && out[key]) out[key] = absoluteURL(out[key]);
  return out;
}

// --- reading the form ------------------------------------------------------------------

/** "22,5" (percent) -> "0.225" by moving the decimal point: no binary float on the way. */
export function percentToFraction(text) {
  const t = text.replace(WHITESPACE, "").replace(",", ".");
  if (!/^-?\d+(\.\d+)?$/.test(t)) return t; // the engine names what is wrong with it
  const negative = t.startsWith("-");
  const [whole, frac = ""] = t.replace("-", "").split(".");
  const padded = whole.padStart(3, "0");
  const intPart = BigInt(padded.slice(0, -2)).toString();
  const decimals = (padded.slice(-2) + frac).replace(/0+$/, "");
  return `${negative ? "-" : ""}${intPart}${decimals ? `.${decimals}` : ""}`;
}

function fieldValue(input) {
  if (input.type === "checkbox") return input.checked;
  const raw = input.value.trim();
  if (input.dataset.scale === "percent") return percentToFraction(raw);
  if (input.inputMode === "decimal" || input.inputMode === "numeric") return raw.replace(WHITESPACE, "").replace(",", ".");
  return raw;
}

const OPTIONAL = new Set(["grade"]);

function requiredEmpty() {
  // Empty inputs are answered here: the engine would take a default silently.
  const empty = [];
  for (const form of Object.values(forms)) {
    for (const input of form.querySelectorAll("input[data-field]")) {
      if (input.type === "checkbox" || OPTIONAL.has(input.name) || input.closest("[hidden]")) continue;
      if (input.value.trim() === "") empty.push(input.dataset.field);
    }
  }
  return empty;
}

function readProfile() {
  const profile = { export: {} };
  for (const input of forms.main.querySelectorAll("[data-field^='profile.']")) {
    const path = input.dataset.field;
    if (path.startsWith("profile.top_buyers")) continue;
    const value = fieldValue(input);
    if (path.startsWith("profile.export.")) profile.export[input.name] = value;
    else profile[input.name] = input.inputMode === "numeric" && /^\d+$/.test(value) ? Number(value) : value;
  }
  profile.top_buyers = [...buyersBox.querySelectorAll(".sim-buyer")].map((row) => {
    const buyer = {};
    for (const input of row.querySelectorAll("input")) {
      const value = fieldValue(input);
      if (input.name === "grade") {
        if (value !== "") buyer.grade = /^\d+$/.test(value) ? Number(value) : value;
      } else buyer[input.name] = value;
    }
    return buyer;
  });
  return profile;
}

function readOptions() {
  // Only what the visitor changed: the engine applies each formula's own defaults.
  const options = Object.fromEntries(FORMULAS.map((f) => [f, {}]));
  for (const control of forms.main.querySelectorAll("[data-formula][data-field^='options.']")) {
    if (control.disabled) continue;
    const value = fieldValue(control);
    const changed = control.type === "checkbox" ? String(value) !== control.dataset.default : value !== control.dataset.default;
    if (!changed) continue;
    const numeric = control.tagName === "SELECT" && /^\d+$/.test(value);
    options[control.dataset.formula][control.name] = numeric ? Number(value) : value;
  }
  const payment = forms.main.querySelector("[name=payment]").value;
  if (payment !== "annual") for (const f of FORMULAS) options[f].payment = payment;
  return options;
}

function readInvoice() {
  const invoice = { id: "simulation", event: {} };
  for (const control of forms.whatif.querySelectorAll("[data-field]")) {
    const path = control.dataset.field;
    const value = fieldValue(control);
    if (path.startsWith("invoices[0].event.")) {
      if (!control.closest("[hidden]")) invoice.event[control.name] = value;
    } else if (control.name === "extension_days") {
      invoice.extension_days = /^\d+$/.test(value) ? Number(value) : value;
    } else invoice[control.name] = value;
  }
  return invoice;
}

function requests() {
  const profile = readProfile();
  const options = readOptions();
  const cushion = fieldValue(forms.risk.querySelector("[name=cash_cushion]"));
  return {
    compare: { profile, options },
    portfolio: { profile, options, cash_cushion: cushion },
    invoice: readInvoice(),
  };
}

// --- errors next to their fields -------------------------------------------------------

function clearErrors(scope) {
  for (const form of scope) {
    for (const p of form.querySelectorAll(".sim-error")) {
      p.hidden = true;
      p.textContent = "";
    }
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }
}

function errorTarget(field) {
  const all = [...root.querySelectorAll("[data-error-for]")];
  for (let path = field; path; path = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "")) {
    const exact = all.find((p) => p.dataset.errorFor === path);
    if (exact) return exact;
    const child = all.find((p) => p.dataset.errorFor.startsWith(`${path}.`));
    if (child) return child;
    if (!/[.[]/.test(path)) break;
  }
  return document.getElementById("sim-general-error");
}

function showError(field, message) {
  const target = errorTarget(field);
  target.textContent = message;
  target.hidden = false;
  const input = root.querySelector(`[data-field="${CSS.escape(target.dataset.errorFor)}"]`);
  input?.setAttribute("aria-invalid", "true");
}

function markStale(element, stale) {
  element.classList.toggle("sim-stale", stale);
  if (stale) element.setAttribute("data-stale", "true");
  else element.removeAttribute("data-stale");
}

// --- the URL holds the simulation ------------------------------------------------------

function controls() {
  return Object.values(forms).flatMap((form) => [...form.querySelectorAll("[data-field]")]).filter(
    (c) => !c.dataset.field.startsWith("profile.top_buyers"),
  );
}

function isDefault(control) {
  if (control.type === "checkbox") return control.checked === control.defaultChecked;
  if (control.tagName === "SELECT") return [...control.options].every((o) => o.selected === o.defaultSelected);
  return control.value === control.defaultValue;
}

function buyersText() {
  return [...buyersBox.querySelectorAll(".sim-buyer")]
    .map((row) => [...row.querySelectorAll("input")].map((i) => i.value.trim().replaceAll("~", "-").replaceAll("|", "/")).join("~"))
    .join("|");
}
const defaultBuyers = buyersText();

let urlTimer = null;

/** Write the URL a little later: history.replaceState costs milliseconds per change. */
function scheduleURL() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(writeURL, 250);
}

function writeURL() {
  clearTimeout(urlTimer);
  const params = new URLSearchParams();
  for (const control of controls()) {
    if (isDefault(control)) continue;
    params.set(control.dataset.field, control.type === "checkbox" ? (control.checked ? "1" : "0") : control.value);
  }
  const buyers = buyersText();
  if (buyers !== defaultBuyers) params.set("clients", buyers);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function readURL() {
  const params = new URLSearchParams(location.search);
  let changed = false;
  for (const control of controls()) {
    const value = params.get(control.dataset.field);
    if (value === null) continue;
    if (control.type === "checkbox") control.checked = value === "1";
    else control.value = value;
    changed = true;
  }
  const buyers = params.get("clients");
  if (buyers !== null) {
    setBuyers(buyers === "" ? [] : buyers.split("|").map((row) => row.split("~")));
    changed = true;
  }
  return changed;
}

// --- buyer rows ------------------------------------------------------------------------

const rowTemplate = buyersBox.querySelector(".sim-buyer")?.cloneNode(true);

function renumberBuyers() {
  const rows = [...buyersBox.querySelectorAll(".sim-buyer")];
  rows.forEach((row, i) => {
    row.dataset.row = String(i);
    for (const input of row.querySelectorAll("input")) {
      input.id = `f-buyer-${input.name}-${i}`;
      input.dataset.field = `profile.top_buyers[${i}].${input.name}`;
      input.setAttribute("aria-describedby", `e-buyer-${input.name}-${i}`);
    }
    for (const label of row.querySelectorAll("label")) {
      const input = label.parentElement.querySelector("input");
      label.htmlFor = input.id;
      if (input.name === "name") label.textContent = `Nom du client ${i + 1}`;
    }
    for (const error of row.querySelectorAll(".sim-error")) {
      const input = error.parentElement.querySelector("input");
      error.id = `e-buyer-${input.name}-${i}`;
      error.dataset.errorFor = input.dataset.field;
    }
    row.querySelector(".sim-sr").textContent = `le client ${i + 1}`;
  });
  const list = document.getElementById("w-buyers");
  list.replaceChildren(
    ...rows.map((row) => Object.assign(document.createElement("option"), { value: row.querySelector("[name=name]").value })),
  );
}

function newRow(values = ["", "", ""]) {
  const row = rowTemplate.cloneNode(true);
  row.querySelectorAll("input").forEach((input, i) => {
    input.value = values[i] ?? "";
    input.defaultValue = input.value;
  });
  for (const error of row.querySelectorAll(".sim-error")) error.hidden = true;
  return row;
}

function setBuyers(rows) {
  buyersBox.replaceChildren(...rows.map((values) => newRow(values)));
  renumberBuyers();
}

// --- computing -------------------------------------------------------------------------

let engine = null;
let ready = false;
let running = false;
let again = false;
let pendingInputAt = null;
let edits = 0; // the visitor's changes so far (see warmUp)
let secondaryTimer = null;
let secondarySeq = 0;

function setStatus(text, busy) {
  out.status.textContent = text;
  out.progress.hidden = !busy;
}

async function recompute() {
  if (!ready) return;
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    do {
      again = false;
      await computeOnce();
    } while (again);
  } finally {
    running = false;
  }
}

async function computeOnce() {
  const startedAt = pendingInputAt ?? performance.now();
  pendingInputAt = null;
  clearErrors([forms.main, forms.risk]);
  scheduleURL();
  const empty = requiredEmpty().filter((f) => f.startsWith("profile.") || f === "cash_cushion");
  if (empty.length) {
    for (const field of empty) showError(field, "Champ obligatoire");
    markStale(out.compare, true);
    markStale(out.summary, true);
    return;
  }
  const req = requests();
  sim.lastRequests = req;
  const response = await engine.call("compare", req.compare);
  if (again) return; // a newer change is waiting: show that one instead
  if (!response.ok) {
    showError(response.error.field, response.error.message);
    markStale(out.compare, true);
    markStale(out.summary, true);
    return;
  }
  sim.results.compare = response.result;
  patch(out.summary, renderSummary(response.result));
  showCards(response.result);
  out.compare.dataset.state = "live";
  markStale(out.compare, false);
  markStale(out.summary, false);
  sim.updates.push({ ms: performance.now() - startedAt });
  document.dispatchEvent(new CustomEvent("sim:updated", { detail: { kind: "compare" } }));
  scheduleSecondary();
}

/** Put `result` into the formula cards, with the tables of the explanations `explain` names. */
function showCards(result, explain = explained) {
  patch(out.compare, renderCompare(result, { explain }));
}

/** Whether the factor-by-factor table of `formula` is shown: those of closed explanations are
 * left out of each update and added when the visitor opens one. */
function explained(formula) {
  return Boolean(out.compare.querySelector(`details.sim-explain[data-formula="${formula}"]`)?.open);
}

function openExplanation(details) {
  // Filled before the browser opens it (a click on its summary comes first), so it never opens empty.
  const formula = details.dataset.formula;
  if (!details.querySelector(".sim-scroll"))
    showCards(sim.results.compare, (f) => f === formula || explained(f));
}

function scheduleSecondary() {
  clearTimeout(secondaryTimer);
  secondaryTimer = setTimeout(runSecondary, SECONDARY_DELAY_MS);
}

/** The what-if's request for one formula: the invoice alone, nothing paid yet this year. */
function settleRequest(terms, invoice) {
  return { terms, invoices: [invoice], paid_this_year: "0" };
}

async function runSecondary() {
  const seq = ++secondarySeq;
  const req = requests();
  clearErrors([forms.whatif, forms.risk]);
  const compare = sim.results.compare;
  const empty = requiredEmpty().filter((f) => f.startsWith("invoices") || f === "cash_cushion");
  for (const field of empty) showError(field, "Champ obligatoire");
  const whatifEmpty = empty.some((f) => f.startsWith("invoices"));
  const settled = {};
  if (!whatifEmpty) {
    for (const result of compare.formulas) {
      if (!result.available) continue;
      const response = await engine.call("settle", settleRequest(result.terms, req.invoice));
      if (!response.ok) {
        showError(response.error.field, response.error.message);
        markStale(out.whatif, true);
        break;
      }
      settled[result.formula] = response.result;
    }
  }
  if (seq !== secondarySeq) return;
  if (!whatifEmpty && Object.keys(settled).length === compare.formulas.filter((r) => r.available).length) {
    sim.results.whatif = settled;
    patch(out.whatif, renderWhatIf(settled, boot.labels));
    markStale(out.whatif, false);
  } else markStale(out.whatif, true);
  if (empty.includes("cash_cushion")) {
    markStale(out.portfolio, true);
  } else {
    const response = await engine.call("portfolio", req.portfolio);
    if (seq !== secondarySeq) return;
    if (response.ok) {
      sim.results.portfolio = response.result;
      patch(out.portfolio, renderPortfolio(response.result));
      markStale(out.portfolio, false);
    } else {
      showError(response.error.field, response.error.message);
      markStale(out.portfolio, true);
    }
  }
  document.dispatchEvent(new CustomEvent("sim:updated", { detail: { kind: "secondary" } }));
}

function onInput(event) {
  if (event.target.matches?.("[data-field]")) {
    pendingInputAt ??= performance.now();
    edits++;
    if (event.target.id === "w-event") toggleEventDate();
    if (!ready) scheduleURL();
    else if (event.currentTarget === forms.main) recompute();
    else {
      scheduleURL();
      scheduleSecondary();
    }
  }
}

function toggleEventDate() {
  const insolvency = document.getElementById("w-event").value === "insolvency";
  for (const el of forms.whatif.querySelectorAll("[data-when=insolvency]")) el.hidden = !insolvency;
}

function wire() {
  // A URL still waiting to be written is written before the visitor leaves or shares it.
  addEventListener("pagehide", () => urlTimer && writeURL());
  for (const form of Object.values(forms)) {
    form.addEventListener("input", onInput);
    form.addEventListener("change", onInput);
    form.addEventListener("submit", (event) => event.preventDefault());
  }
  forms.main.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "add-buyer") {
      const row = newRow();
      buyersBox.append(row);
      renumberBuyers();
      row.querySelector("input").focus();
    } else if (action === "remove-buyer") {
      const row = event.target.closest(".sim-buyer");
      const next = row.nextElementSibling ?? row.previousElementSibling;
      row.remove();
      renumberBuyers();
      (next?.querySelector("input") ?? document.getElementById("sim-add-buyer")).focus();
    } else return;
    pendingInputAt = performance.now();
    edits++;
    recompute();
  });
  out.compare.addEventListener("click", (event) => {
    const details = event.target.closest("summary")?.parentElement;
    if (details?.matches("details.sim-explain") && !details.open) openExplanation(details);
  });
  // Opened another way than by its summary (a script, the browser's find): filled one task later.
  out.compare.addEventListener(
    "toggle",
    (event) => event.target.matches("details.sim-explain") && event.target.open && openExplanation(event.target),
    true,
  );
  buyersBox.addEventListener("change", (event) => {
    if (event.target.name === "name") renumberBuyers();
  });
}

async function start() {
  toggleEventDate();
  const fromURL = readURL();
  if (fromURL) {
    for (const el of [out.summary, out.compare, out.whatif, out.portfolio]) markStale(el, true);
    setStatus("Préparation du calcul de votre simulation…", true);
  }
  wire();
  const onprogress = ({ step, steps }) => {
    out.progress.max = steps + 1; // the last step is the answer to init
    if (step > out.progress.value) out.progress.value = step;
  };
  engine = new Engine(absoluteURL(root.dataset.worker), engineConfig(config), window.__simEarly, onprogress);
  sim.ready = engine.ready;
  try {
    sim.info = await engine.ready;
  } catch (error) {
    setStatus(`Le calcul dans le navigateur n'a pas pu démarrer (${error.message}). Les chiffres affichés sont ceux du profil d'exemple.`, false);
    document.dispatchEvent(new CustomEvent("sim:failed", { detail: error.message }));
    return;
  }
  ready = true;
  // The worker keeps the files it downloaded once the engine runs (a failed copy costs a lookup).
  if (sim.info.snapshot) noteKept(config.engine);
  const seconds = (sim.info.timings.total_ms / 1000).toFixed(1).replace(".", ",");
  setStatus(`Calcul en direct dans votre navigateur (prêt en ${seconds} s) : chaque modification met les résultats à jour.`, false);
  if (fromURL || forms.main.dataset.dirty) recompute();
  document.dispatchEvent(new CustomEvent("sim:ready", { detail: sim.info }));
  warmUp();
}

/**
 * Ask the engine for the current form's results a few times, showing nothing, until the visitor
 * changes something. V8 compiles each of the engine's wasm functions on its first call and
 * optimises the busy ones after some calls: the first compare after ready took 52 to 102 ms on
 * two cores, the next ones 10 to 30 ms, about 5 ms from the tenth on. A change made meanwhile
 * waits for the one request in flight at most.
 */
async function warmUp() {
  const before = edits;
  const idle = () => !running && edits === before;
  try {
    const req = requests();
    let terms = null;
    for (let i = 0; i < WARM_UP_CALLS && idle(); i++) {
      const response = await engine.call("compare", req.compare);
      if (!response.ok) return;
      terms = response.result.formulas.find((f) => f.available)?.terms;
      // The same figures as the build's, put in the shape of an update: the closed explanations'
      // tables leave the page now rather than with the visitor's first change.
      if (i === 0 && idle()) showCards(response.result);
    }
    // Then the what-if's and the portfolio's paths, once (they run after a pause in typing).
    if (terms && idle()) await engine.call("settle", settleRequest(terms, req.invoice));
    if (idle()) await engine.call("portfolio", req.portfolio);
  } catch {
    // Only the first change's speed depends on it.
  }
}

for (const form of Object.values(forms)) {
  form.addEventListener("input", () => {
    if (!ready) forms.main.dataset.dirty = "1";
  });
}
start();

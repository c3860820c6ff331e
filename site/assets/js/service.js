// What the quote, subscription, log-in and "Mon espace" pages share: where the API is, calling
// it, showing its French errors next to the fields, and the session (sessionStorage only).
// Plain ES module, no dependency: the site works offline and sends nothing to another host.

/** The site's root, from this module's own address (assets/js/service.js). */
export const SITE_ROOT = new URL("../../", import.meta.url);
export const siteUrl = (path = "") => new URL(path, SITE_ROOT).href;

const SESSION_KEY = "ac-session"; // {id_token, expires_at} of the signed-in owner
const SIMULATION_KEY = "ac-simulation"; // written by the simulator page: {request, formula, ...}
const LOGIN_HINT_KEY = "ac-login-hint"; // the e-mail just used to subscribe, to prefill the log-in
const NOT_CONNECTED =
  "Le service de devis et de souscription n'est pas connecté à ce site : cette copie du site fonctionne sans serveur. " +
  "Le simulateur reste utilisable ; pour demander un devis, lancez la démonstration complète (make demo) ou utilisez le site publié.";

let configPromise = null;

/** ``/api-config.json`` (local stack or published site), or ``null`` when the site is served alone. */
export function loadConfig() {
  configPromise ??= (async () => {
    try {
      const response = await fetch(siteUrl("api-config.json"), { cache: "no-store" });
      if (!response.ok) return null;
      const config = await response.json();
      if (!config?.api_url) return null;
      return config;
    } catch {
      return null;
    }
  })();
  return configPromise;
}

/** The page's configuration, or the French "not connected" message shown in ``box`` (then ``null``). */
export async function requireConfig(box) {
  const config = await loadConfig();
  if (!config) showMessage(box, NOT_CONNECTED, "warning");
  return config;
}

/** An error answered by the API (or a network failure: ``status`` 0). */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message || defaultMessage(status));
    this.status = status;
    this.code = error.code || (status === 0 ? "network_error" : "http_error");
    this.fields = Array.isArray(error.fields) ? error.fields : [];
  }
}

function defaultMessage(status) {
  if (status === 0) return "Le service ne répond pas : vérifiez votre connexion puis réessayez.";
  if (status === 401) return "Votre session a expiré : connectez-vous de nouveau.";
  if (status === 404) return "Introuvable.";
  if (status >= 500) return "Le service est momentanément indisponible : réessayez dans quelques instants.";
  return "La demande n'a pas pu aboutir.";
}

/** Call the API: ``{data, response}``; throws :class:`ApiError` on an error status or network failure. */
export async function api(config, path, { method = "GET", body, token, headers = {}, accept = "json" } = {}) {
  const init = { method, headers: { ...headers }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(new URL(path.replace(/^\//, ""), config.api_url), init);
  } catch {
    throw new ApiError(0, null);
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    throw new ApiError(response.status, data);
  }
  const data = accept === "text" ? await response.text() : await response.json();
  return { data, response };
}

// --- messages and field errors ------------------------------------------------------------

/** Show ``text`` in ``box`` (a live region); ``kind`` is info, success, warning or error. */
export function showMessage(box, text, kind = "info") {
  if (!box) return;
  box.hidden = false;
  box.dataset.kind = kind;
  box.textContent = text;
}

export function hideMessage(box) {
  if (!box) return;
  box.hidden = true;
  box.textContent = "";
}

const capital = (text) => (text ? text[0].toUpperCase() + text.slice(1) : text);

export function clearFieldErrors(form) {
  for (const p of form.querySelectorAll("[data-error-for]")) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** The error paragraph of an API path (``company.address.postal_code``), or of its closest parent. */
function errorSlot(form, path) {
  for (let p = path; p; p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, "")) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(p)}"]`);
    if (slot) return slot;
    if (!/[.[]/.test(p)) break;
  }
  return null;
}

/**
 * Show an API error: each ``fields[].message`` next to its field (``data-error-for`` = the API
 * path), the others and the general message in ``general``. Focuses the first field at fault.
 * Returns the number of messages placed next to a field.
 */
export function showApiError(form, general, error, { prefixes = {} } = {}) {
  clearFieldErrors(form);
  const unplaced = [];
  let first = null;
  let placed = 0;
  for (const field of error.fields ?? []) {
    const slot = errorSlot(form, field.path);
    if (!slot) {
      const prefix = Object.entries(prefixes).find(([p]) => field.path.startsWith(p))?.[1] ?? "";
      unplaced.push(`${prefix}${capital(field.message)}`);
      continue;
    }
    slot.textContent = slot.textContent ? `${slot.textContent} ${capital(field.message)}.` : `${capital(field.message)}.`;
    slot.hidden = false;
    placed += 1;
    const input = form.querySelector(`[name="${CSS.escape(slot.dataset.errorFor)}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first ??= input;
    }
  }
  let text = error.message;
  if (placed) text += ` ${placed === 1 ? "Un champ est à corriger" : `${placed} champs sont à corriger`} : voyez le message sous ${placed === 1 ? "ce champ" : "chacun"}.`;
  if (unplaced.length) text += ` ${unplaced.join(" ; ")}.`;
  showMessage(general, text, "error");
  (first ?? general).focus?.();
  return placed;
}

/** Required fields left empty get "Champ obligatoire"; returns whether there was one. */
export function checkRequired(form, general) {
  clearFieldErrors(form);
  const empty = [...form.querySelectorAll("[required]")].filter((input) =>
    input.type === "checkbox" ? !input.checked : !input.value.trim(),
  );
  if (!empty.length) return false;
  for (const input of empty) {
    const slot = errorSlot(form, input.name);
    if (slot) {
      slot.textContent = input.type === "checkbox" ? "À cocher pour continuer." : "Champ obligatoire.";
      slot.hidden = false;
    }
    input.setAttribute("aria-invalid", "true");
  }
  showMessage(
    general,
    empty.length === 1 ? "Un champ obligatoire n'est pas rempli." : `${empty.length} champs obligatoires ne sont pas remplis.`,
    "error",
  );
  empty[0].focus();
  return true;
}

/** Set ``obj.a.b.c = value`` from ``"a.b.c"``. */
export function setPath(obj, path, value) {
  const keys = path.split(".");
  let node = obj;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys.at(-1)] = value;
}

// --- formatting -----------------------------------------------------------------------------

const LONG_DATE = new Intl.DateTimeFormat("fr-FR", { day: "numeric", month: "long", year: "numeric", timeZone: "Europe/Paris" });

/**
 * ``2026-12-26T14:39:07Z`` or ``2026-12-26`` -> ``26 décembre 2026`` (Paris time for instants);
 * the first of a month is written ``1er``, as on the pages rendered at build time.
 */
export function frenchDate(text) {
  if (!text) return "—";
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T12:00:00Z`) : new Date(text);
  if (Number.isNaN(date.getTime())) return String(text);
  return LONG_DATE.formatToParts(date)
    .map((part) => (part.type === "day" && part.value === "1" ? "1er" : part.value))
    .join("");
}

/** Today in Paris, ``YYYY-MM-DD`` (the API's "today" for start dates), plus ``days``. */
export function parisDay(days = 0) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: "Europe/Paris" })
      .formatToParts(new Date())
      .map((p) => [p.type, p.value]),
  );
  const day = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day) + days));
  return day.toISOString().slice(0, 10);
}

// --- session (sessionStorage only: gone when the tab closes) ---------------------------------

function read(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}

export const readSimulation = () => read(SIMULATION_KEY);

export function getSession() {
  const session = read(SESSION_KEY);
  if (!session?.id_token || !(session.expires_at > Date.now())) return null;
  return session;
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** Log out: forget everything this tab kept (tokens, simulation, hints), back to the home page. */
export function logOut() {
  sessionStorage.clear();
  location.assign(siteUrl());
}

export function setLoginHint(email) {
  sessionStorage.setItem(LOGIN_HINT_KEY, JSON.stringify(email));
}

export const loginHint = () => read(LOGIN_HINT_KEY);

/**
 * Log in with Cognito's ``InitiateAuth`` (``USER_PASSWORD_AUTH``), sent straight to the pool's
 * endpoint; keeps the ID token in sessionStorage. Throws an Error with a French message.
 */
export async function logIn(config, email, password) {
  let response;
  try {
    response = await fetch(config.cognito_endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: config.user_pool_client_id,
        AuthParameters: { USERNAME: email, PASSWORD: password },
      }),
      cache: "no-store",
    });
  } catch {
    throw new Error("Le service de connexion ne répond pas : vérifiez votre connexion puis réessayez.");
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  if (!response.ok) {
    const type = String(data.__type ?? data.code ?? "").split("#").at(-1);
    if (type === "NotAuthorizedException" || type === "UserNotFoundException") {
      throw new Error("Adresse e-mail ou mot de passe incorrect.");
    }
    if (type === "PasswordResetRequiredException") {
      throw new Error("Votre mot de passe doit être réinitialisé : contactez-nous.");
    }
    if (type === "TooManyRequestsException" || type === "LimitExceededException") {
      throw new Error("Trop de tentatives : patientez quelques minutes avant de réessayer.");
    }
    throw new Error("La connexion a échoué : réessayez dans quelques instants.");
  }
  if (data.ChallengeName) {
    throw new Error("Votre compte n'est pas encore activé pour une connexion en ligne : contactez-nous.");
  }
  const result = data.AuthenticationResult ?? {};
  if (!result.IdToken) throw new Error("La connexion a échoué : réessayez dans quelques instants.");
  const session = { id_token: result.IdToken, expires_at: Date.now() + Number(result.ExpiresIn || 3600) * 1000 };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  sessionStorage.removeItem(LOGIN_HINT_KEY);
  return session;
}

/** Disable a form's submit button while ``work`` runs (no double submission). */
export async function busy(form, work) {
  const buttons = [...form.querySelectorAll("button[type=submit]")];
  for (const b of buttons) {
    b.disabled = true;
    b.setAttribute("aria-busy", "true");
  }
  try {
    return await work();
  } finally {
    for (const b of buttons) {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    }
  }
}

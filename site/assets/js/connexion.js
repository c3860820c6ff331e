// "Se connecter": Cognito's InitiateAuth from the browser, the ID token kept in sessionStorage,
// then "Mon espace".
import { esc } from "./render.mjs";
import { busy, checkRequired, getSession, hideMessage, logIn, loginHint, requireConfig, showMessage, siteUrl } from "./service.js";

const status = document.getElementById("login-status");
const form = document.getElementById("login-form");
const general = document.getElementById("login-error");

async function main() {
  const config = await requireConfig(status);
  if (!config) return;
  if (getSession()) {
    status.innerHTML = `Vous êtes déjà connecté : <a href="${esc(siteUrl("espace/"))}">ouvrir mon espace</a>.`;
    status.hidden = false;
    status.dataset.kind = "info";
  }
  const hint = loginHint();
  if (typeof hint === "string") form.elements.email.value = hint;
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hideMessage(general);
    if (checkRequired(form, general)) return;
    await busy(form, async () => {
      try {
        await logIn(config, form.elements.email.value.trim().toLowerCase(), form.elements.password.value);
      } catch (error) {
        form.elements.password.value = "";
        showMessage(general, error.message, "error");
        general.focus();
        return;
      }
      showMessage(status, "Connexion réussie : ouverture de votre espace…", "success");
      location.assign(siteUrl("espace/"));
    });
  });
}

main();

// On the simulator page: a "Demander un devis" button under each available formula card. A click
// keeps the current simulation in sessionStorage ("ac-simulation": {request, formula, label,
// broker_id, back}) and opens the quote page, which sends it to the API. Reads the simulator's
// state (window.__sim, #sim-boot) and never changes it. The simulator patches the cards in place
// and leaves elements marked `data-keep` alone; after each of its updates the buttons are matched
// to the cards again (a formula may have become unavailable, or available).
const compare = document.getElementById("sim-compare");
const form = document.getElementById("sim-form");
const broker = new URLSearchParams(location.search).get("courtier"); // read before the simulator rewrites the URL
const devisUrl = new URL("../../devis/", import.meta.url);

function syncButtons() {
  for (const card of compare.querySelectorAll(".sim-card[data-formula]")) {
    const box = card.querySelector(".ac-quote");
    if (card.classList.contains("sim-card--off")) box?.remove();
    else if (!box) card.append(quoteBox(card));
    else if (box.lastElementChild.textContent) box.lastElementChild.textContent = ""; // the cards match the form again
  }
}

function quoteBox(card) {
  const label = card.querySelector("h3")?.textContent.trim() ?? card.dataset.formula;
  const box = document.createElement("p");
  box.className = "ac-quote";
  box.dataset.keep = ""; // the simulator's patch leaves it in place
  box.innerHTML = `<button type="button" class="md-button md-button--primary ac-quote-link">Demander un devis<span class="sim-sr"> pour la formule </span></button><span class="ac-quote-note" role="status"></span>`;
  box.querySelector(".sim-sr").append(label);
  box.querySelector("button").dataset.formula = card.dataset.formula;
  return box;
}

/** The engine request behind the cards on screen, or null while they do not match the form. */
function currentRequest() {
  if (compare.dataset.stale === "true") return null;
  const live = window.__sim?.lastRequests?.compare;
  if (live) return live;
  if (form?.dataset.dirty) return null; // edited before the engine was ready: cards not yet recomputed
  try {
    return JSON.parse(document.getElementById("sim-boot").textContent).requests.compare;
  } catch {
    return null;
  }
}

compare.addEventListener("click", (event) => {
  const button = event.target.closest(".ac-quote-link");
  if (!button) return;
  const request = currentRequest();
  const note = button.parentElement.querySelector(".ac-quote-note");
  if (!request) {
    note.textContent = "Corrigez d'abord les champs signalés du simulateur, ou patientez pendant le calcul.";
    return;
  }
  const card = button.closest(".sim-card");
  const simulation = {
    request,
    formula: button.dataset.formula,
    label: card?.querySelector("h3")?.textContent.trim() ?? button.dataset.formula,
    back: location.search,
  };
  if (broker) simulation.broker_id = broker;
  sessionStorage.setItem("ac-simulation", JSON.stringify(simulation));
  location.assign(devisUrl.href);
});

document.addEventListener("sim:updated", (event) => {
  if (event.detail?.kind === "compare") syncButtons();
});
syncButtons();

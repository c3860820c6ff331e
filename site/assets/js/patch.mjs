// Puts new markup into a container by changing only what differs from what is already there.
// The nodes stay: an explanation the visitor opened stays open, a focused summary or quote button
// keeps the focus, a live region announces the figures that changed rather than the whole block,
// and the browser lays out again only what changed.
//
// Children are matched by key (tag, id and data-formula) where they have one, else in order by
// tag. Elements marked `data-keep` were added by another script: they are left where they are.
// Below a matched element that differs, the walk goes on only where something must be kept (a
// key, a <details>, a kept element); elsewhere the new children are moved in whole, which costs
// less than comparing them node by node.

// A detached element of this document, not a <template>: nodes parsed into a template belong to
// its own inert document, and moving them into the page would adopt each one. The markup comes
// from render.mjs, which escapes every value, so nothing in it can run or load.
const scratch = document.createElement("div");
const WORTH_A_WALK = "[id], [data-formula], details, [data-keep]";

/** Make the children of `container` those of `html`, reusing the nodes that match. */
export function patch(container, html) {
  scratch.innerHTML = html;
  patchChildren(container, scratch);
  scratch.replaceChildren();
}

function keyOf(node) {
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const id = node.getAttribute("id");
  const formula = node.getAttribute("data-formula");
  return id === null && formula === null ? null : `${node.nodeName}#${id ?? ""}@${formula ?? ""}`;
}

function kept(node) {
  return node.nodeType === Node.ELEMENT_NODE && node.hasAttribute("data-keep");
}

function skipKept(node) {
  while (node && kept(node)) node = node.nextSibling;
  return node;
}

function patchChildren(parent, fresh) {
  const keyed = new Map();
  for (const child of parent.children) {
    const key = keyOf(child);
    if (key !== null && !kept(child)) keyed.set(key, child);
  }
  let cursor = skipKept(parent.firstChild);
  for (const node of [...fresh.childNodes]) {
    const key = keyOf(node);
    let match = null;
    if (key !== null) {
      match = keyed.get(key) ?? null;
      keyed.delete(key);
    } else if (cursor && keyOf(cursor) === null && cursor.nodeName === node.nodeName) {
      match = cursor;
    }
    if (match === null) {
      parent.insertBefore(node, cursor); // moved out of the scratch element
    } else {
      if (match === cursor) cursor = skipKept(cursor.nextSibling);
      else parent.insertBefore(match, cursor);
      sync(match, node);
    }
  }
  while (cursor) {
    const next = skipKept(cursor.nextSibling);
    cursor.remove();
    cursor = next;
  }
  for (const left of keyed.values()) left.remove(); // keyed nodes the new markup no longer has
}

function sync(old, fresh) {
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
    return;
  }
  if (old.isEqualNode(fresh)) return; // one native comparison instead of a walk in JavaScript
  for (const { name, value } of fresh.attributes) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  for (const name of old.getAttributeNames()) {
    // Whether a <details> is open is the visitor's choice, not the markup's.
    if (!fresh.hasAttribute(name) && !(name === "open" && old.nodeName === "DETAILS")) old.removeAttribute(name);
  }
  if (keyOf(old) !== null || old.querySelector(WORTH_A_WALK) !== null) patchChildren(old, fresh);
  else old.replaceChildren(...fresh.childNodes);
}

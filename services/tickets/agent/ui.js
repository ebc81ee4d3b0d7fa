// Shared UI pieces: toasts, the connection banner, forms that show the API's refusal, error panels.

import { h, clear } from "./dom.js";

export function toast(message, kind = "ok") {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  region.append(item);
  while (region.children.length > 3) region.firstElementChild.remove(); // never a wall over the page
  setTimeout(() => item.remove(), kind === "error" ? 10000 : 5000);
}

/** "Refused: <the API's message> (code)" — or the plain message of any other error. */
export function errorText(error) {
  if (!error) return "Something went wrong.";
  if (error.name === "ApiError") return `${error.message} (${error.code}, HTTP ${error.status})`;
  return error.message || String(error);
}

/** An error block for a section or a whole view: never a blank screen. */
export function errorPanel(error, retry) {
  return h("div", { class: "error-panel", role: "alert" },
    h("p", {}, h("strong", {}, error?.name === "ApiError" ? "The server refused this: " : "Could not load this: "),
      errorText(error)),
    retry ? h("button", { type: "button", onclick: retry }, "Try again") : null);
}

/** Wires a form to an async action. The action gets the FormData and the button that submitted
 * it; a refusal is shown in the form (role=alert) with the API's message, and the form keeps what
 * was typed. Returns the form. */
export function actionForm(form, action) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  form.append(error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submitter = event.submitter;
    const buttons = [...form.querySelectorAll("button")];
    error.hidden = true;
    error.textContent = "";
    form.setAttribute("aria-busy", "true");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await action(new FormData(form), submitter, form);
    } catch (failure) {
      error.textContent = `Refused: ${errorText(failure)}`;
      error.hidden = false;
    } finally {
      form.removeAttribute("aria-busy");
      buttons.forEach((b) => { if (b.isConnected) b.disabled = false; });
    }
  });
  return form;
}

export function setBanner(state, detail) {
  const region = document.getElementById("banner");
  clear(region);
  if (state === "ok") {
    region.hidden = true;
    return;
  }
  region.hidden = false;
  const seconds = detail?.delay ? Math.round(detail.delay / 1000) : null;
  region.append(
    h("p", {},
      h("strong", {}, "Connection lost. "),
      "The server cannot be reached; what you see may be out of date. ",
      seconds ? `Retrying in ${seconds} s (attempt ${detail.attempt}).` : "Retrying…"),
    h("button", { type: "button", id: "retry-now" }, "Retry now"));
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

/** Fills `box` with what `fill()` resolves to (a list of nodes), showing "Loading…" meanwhile; a
 * failure leaves an error panel whose button tries again. */
export async function loadInto(box, fill) {
  clear(box);
  box.append(loading());
  try {
    const nodes = await fill();
    clear(box);
    box.append(...nodes);
  } catch (error) {
    clear(box);
    box.append(errorPanel(error, () => loadInto(box, fill)));
  }
}

/** A filter form: submitting it keeps its choices (`keep()`) and loads again. */
export function onApply(form, keep, load) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    keep();
    load();
  });
}

export function badge(text, cls = "") {
  return h("span", { class: `badge ${cls}` }, text);
}

export function labelled(label, value) {
  return [h("dt", {}, label), h("dd", {}, value ?? "—")];
}

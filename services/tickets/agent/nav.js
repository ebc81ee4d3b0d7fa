// The main navigation: marks the current view's link, and at 800 px wide and below folds the
// links behind a "Menu" disclosure button (aria-expanded; Escape closes it and gives the focus
// back; choosing a view, clicking elsewhere or tabbing past the last link closes it). Wider,
// the button is not shown and the links always are (styles.css decides by the width; this
// module only keeps the state).

const nav = () => document.getElementById("nav");
const toggle = () => document.getElementById("nav-toggle");

export function setMenuOpen(open) {
  nav().toggleAttribute("data-open", open);
  toggle().setAttribute("aria-expanded", String(open));
}

function menuOpen() {
  return nav().hasAttribute("data-open");
}

/** aria-current="page" on the link of the view shown. */
export function markCurrent(href) {
  for (const link of nav().querySelectorAll("a")) {
    if (link.getAttribute("href") === href) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

export function wireNav() {
  toggle().addEventListener("click", () => setMenuOpen(!menuOpen()));
  nav().addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menuOpen()) {
      setMenuOpen(false);
      toggle().focus();
    }
  });
  nav().addEventListener("click", (event) => {
    if (event.target.closest("a")) setMenuOpen(false);
  });
  document.addEventListener("click", (event) => {
    if (menuOpen() && !nav().contains(event.target)) setMenuOpen(false);
  });
  nav().addEventListener("focusout", (event) => { // tabbing on past the last link closes it
    if (menuOpen() && event.relatedTarget && !nav().contains(event.relatedTarget)) setMenuOpen(false);
  });
}

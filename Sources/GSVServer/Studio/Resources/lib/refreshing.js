// A page of figures the server keeps changing (Status, Training): it loads them when mounted and
// shown, again every `every` ms while it is open and when its refresh button is pressed, and
// renders them again when the UI language changes.

/**
 * The page object for the studio (`{ mount, show, hide, relabel }`).
 * `setup(section, studio)` runs first (keep the helpers); `template` is the page's static markup;
 * `refreshButton` the selector of its refresh button; `refresh()` loads and renders; `render()`
 * renders what was loaded last.
 */
export function refreshingPage({ setup, template, refreshButton, every, refresh, render }) {
  let timer = null;
  return {
    async mount(section, studio) {
      setup(section, studio);
      section.append(studio.html(template));
      section.querySelector(refreshButton).addEventListener('click', refresh);
      await refresh();
    },
    show() { refresh(); clearInterval(timer); timer = setInterval(refresh, every); },
    hide() { clearInterval(timer); timer = null; },
    relabel() { render(); },
  };
}

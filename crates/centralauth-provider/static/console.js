// Progressive additions to the console; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: data-copy names the element whose text is copied.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "✓";
    });
  }
  // Pickers: a filter box, and two panes (chosen, available) instead of one checkbox list.
  for (const picker of document.querySelectorAll("fieldset.picker")) {
    const list = picker.querySelector(".choices");
    const labels = Array.from(list.querySelectorAll("label.check"));
    if (labels.length === 0) continue;
    const filter = document.createElement("input");
    filter.type = "search";
    filter.className = "filter";
    filter.id = picker.id + "-filter";
    filter.placeholder = picker.dataset.filterLabel;
    filter.setAttribute("aria-label", picker.dataset.filterLabel);
    const panes = document.createElement("div");
    panes.className = "panes";
    const pane = (title, id) => {
      const box = document.createElement("div");
      box.className = "pane";
      box.id = id;
      const heading = document.createElement("h4");
      heading.textContent = title;
      box.append(heading);
      panes.append(box);
      return box;
    };
    const chosen = pane(picker.dataset.chosenLabel, picker.id + "-chosen");
    const available = pane(picker.dataset.availableLabel, picker.id + "-available");
    const place = (label) => (label.querySelector("input").checked ? chosen : available).append(label);
    labels.forEach(place);
    list.replaceWith(panes);
    picker.insertBefore(filter, panes);
    for (const label of labels) label.querySelector("input").addEventListener("change", () => place(label));
    filter.addEventListener("input", () => {
      const needle = filter.value.trim().toLowerCase();
      for (const label of labels) label.hidden = needle !== "" && !label.dataset.search.toLowerCase().includes(needle);
    });
  }
});

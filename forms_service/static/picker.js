/* The meeting form's invitee picker, enhanced (progressive: without this script the
   server-side search, pages and "Genodigden overnemen" work as before).
   - typing in the search box filters the candidates shown on this page at once
     (the "Zoeken" button still searches every page on the server);
   - "Alle getoonde kiezen" ticks every candidate the filter shows;
   - the count of chosen invitees (this page's ticks plus those kept from other pages)
     follows every tick.
   Loaded as a file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  var picker = document.querySelector(".invitee-picker");
  if (!picker) { return; }
  var search = picker.querySelector("input[name=q]");
  var count = picker.querySelector(".picker-count");
  var selectShown = picker.querySelector(".picker-select-shown");
  var items = Array.prototype.slice.call(picker.querySelectorAll(".candidates li"))
    .filter(function (li) { return li.querySelector("input[type=checkbox]"); });
  var kept = picker.querySelectorAll("input[type=hidden][name=invitees]").length;

  function fold(text) {
    return text.toLowerCase().replace(/\s+/g, " ").trim();
  }

  /* Show only the candidates whose name or organisation contains what was typed. */
  function filter() {
    var needle = fold(search ? search.value : "");
    items.forEach(function (li) {
      li.hidden = needle !== "" && fold(li.textContent).indexOf(needle) === -1;
    });
  }

  /* "N gekozen." in the page's language (the template gives the words). */
  function update() {
    var ticked = items.filter(function (li) { return li.querySelector("input").checked; }).length;
    if (count) { count.textContent = count.getAttribute("data-template").replace("{n}", String(kept + ticked)); }
  }

  if (search) {
    search.addEventListener("input", filter);
  }
  if (selectShown) {
    selectShown.hidden = false;
    selectShown.addEventListener("click", function () {
      items.forEach(function (li) { if (!li.hidden) { li.querySelector("input").checked = true; } });
      update();
    });
  }
  picker.addEventListener("change", update);
  filter();
  update();
}());

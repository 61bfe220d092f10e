// lenasched serve: the one script, progressive enhancement only. Everything works without it:
// "Open printable calendar" opens the calendar alone, to print with the browser's own command.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print-frame]").forEach(function (button) {
    var frame = document.getElementById(button.getAttribute("data-print-frame"));
    if (!frame || !frame.contentWindow) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      frame.contentWindow.focus();
      frame.contentWindow.print();
    });
  });
});

// Integration Hub pages: the few things that need a script. Every page works without it.
(function () {
  "use strict";

  var numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  var dates = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var UNITS = ["bytes", "KB", "MB", "GB", "TB"];

  function formatBytes(value) {
    var size = Number(value);
    var unit = 0;
    while (size >= 1000 && unit < UNITS.length - 1) { size /= 1000; unit += 1; }
    return numbers.format(size) + " " + UNITS[unit];
  }

  // Dates and sizes in the viewer's locale (the server writes ISO dates and byte counts).
  function localise(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) { el.textContent = dates.format(when); el.title = el.getAttribute("datetime"); }
    });
    root.querySelectorAll("data[data-bytes]").forEach(function (el) {
      el.textContent = formatBytes(el.value);
      el.title = numbers.format(Number(el.value)) + " bytes";
    });
  }

  function copyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = document.getElementById(button.dataset.copy);
        var done = function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done);
        } else {
          field.select();
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  function confirmations(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }

  // Replace a connection row with a fresh copy from the server (after the popup closes).
  function refreshRow(id) {
    var row = document.querySelector('tr[data-integration-id="' + id + '"]');
    if (!row) { return Promise.resolve(); }
    return fetch(row.dataset.rowUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var body = document.createElement("tbody");
        body.innerHTML = html.trim();
        var fresh = body.querySelector("tr");
        if (fresh) { row.replaceWith(fresh); enhance(fresh); announce(fresh); }
      });
  }

  function announce(row) {
    var live = document.getElementById("live");
    var badge = row.querySelector(".badge");
    if (live && badge) { live.textContent = row.dataset.name + ": " + badge.textContent.trim(); }
  }

  // Connect in a popup; when popups are blocked the link simply opens in this window.
  function connectLinks(root) {
    root.querySelectorAll("a[data-connect]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var id = link.dataset.connect;
        var popup = window.open(link.href, "hub-connect-" + id, "popup,width=560,height=720");
        if (!popup) { return; }
        event.preventDefault();
        var row = link.closest("tr");
        if (row) { row.setAttribute("aria-busy", "true"); }
        var timer = setInterval(function () {
          if (popup.closed) { clearInterval(timer); refreshRow(id); }
        }, 500);
      });
    });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin) { return; }
    var data = event.data || {};
    if (data.type !== "hub:oauth") { return; }
    if (!data.ok && data.message) { notify(data.message); }
    if (data.integrationId) { refreshRow(data.integrationId); }
  });

  // A message at the top of the page, read out by screen readers (e.g. a failed connect).
  function notify(message) {
    var box = document.querySelector(".flashes");
    if (!box) {
      box = document.createElement("div");
      box.className = "flashes";
      document.getElementById("main").prepend(box);
    }
    var line = document.createElement("p");
    line.className = "flash error";
    line.setAttribute("role", "alert");
    line.textContent = message;
    box.appendChild(line);
  }

  // "Load more": fetch the next page and append its rows here.
  function moreLinks(root) {
    root.querySelectorAll("a[data-more]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        link.setAttribute("aria-busy", "true");
        fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
          .then(function (response) {
            if (!response.ok) { throw new Error("HTTP " + response.status); }
            return response.text();
          })
          .then(function (html) {
            var next = new DOMParser().parseFromString(html, "text/html");
            var rows = document.querySelector("tbody[data-rows]");
            var added = [];
            next.querySelectorAll("tbody[data-rows] > tr").forEach(function (tr) {
              var row = document.importNode(tr, true);
              rows.appendChild(row);
              added.push(row);
            });
            added.forEach(enhance);
            if (added.length) { added[0].querySelector("a, button") && added[0].querySelector("a, button").focus(); }
            var more = next.querySelector("[data-more-box]");
            var box = document.querySelector("[data-more-box]");
            if (more) { box.replaceWith(document.importNode(more, true)); enhance(document.querySelector("[data-more-box]")); }
            else { box.remove(); }
          })
          .catch(function () { link.removeAttribute("aria-busy"); window.location = link.href; });
      });
    });
  }

  // Integration form: show the fields of the chosen authentication type only.
  function authSections(root) {
    var select = root.querySelector("select[data-auth-type]");
    if (!select) { return; }
    var sync = function () {
      document.querySelectorAll("[data-for-auth]").forEach(function (section) {
        var show = section.dataset.forAuth.split(" ").indexOf(select.value) >= 0;
        section.hidden = !show;
        section.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !show; });
      });
    };
    select.addEventListener("change", sync);
    sync();
  }

  function autoSubmit(root) {
    root.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  }

  function enhance(root) {
    localise(root);
    copyButtons(root);
    confirmations(root);
    connectLinks(root);
    moreLinks(root);
    autoSubmit(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    authSections(document);
  });
})();

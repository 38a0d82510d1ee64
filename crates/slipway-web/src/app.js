// Slipway's web UI: the run page follows its run live (server-sent events from /runs/ID/live),
// builds the log from the server's folding operations, links and finds lines; the form that adds
// a check to an environment, a variable group or an agent pool shows the settings of the chosen
// type. No libraries.
(function () {
  "use strict";
  // The forms that add a check (one on an environment's or a group's page, one per pool on the
  // Agents page): only the chosen type's settings show and are sent (without the script, every
  // type's show and the server reads the chosen one's).
  document.querySelectorAll("form.add-check").forEach(function (form) {
    var select = form.querySelector("select[name=type]");
    if (!select) { return; }
    function show() {
      form.querySelectorAll("fieldset[data-type]").forEach(function (fieldset) {
        var chosen = fieldset.getAttribute("data-type") === select.value;
        fieldset.hidden = !chosen;
        fieldset.disabled = !chosen;
      });
    }
    select.addEventListener("change", show);
    show();
  });
})();

(function () {
  "use strict";
  var live = document.getElementById("run-live");
  var log = document.getElementById("log");
  if (!live || !log) { return; }
  var runId = live.getAttribute("data-run");
  var job = live.getAttribute("data-job") || "";
  var search = document.getElementById("log-search");
  var current = log;
  var source = null;
  var ended = false;
  var jumped = false;

  function numberLink(element, line) {
    var number = String(line + 1);
    element.id = "L" + number;
    var link = document.createElement("a");
    link.className = "no";
    link.href = "#L" + number;
    link.textContent = number;
    element.appendChild(link);
  }

  function matches(element, query) {
    return !query || element.textContent.toLowerCase().indexOf(query) !== -1;
  }

  function filterLine(element, query) {
    element.classList.toggle("hidden", !matches(element, query));
  }

  // Applies ["o", line, html] (open a group), ["l", line, class, html] (a line), ["c"] (close).
  function apply(ops) {
    var query = search ? search.value.trim().toLowerCase() : "";
    var stick = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    var empty = document.getElementById("log-empty");
    if (empty && ops.length) { empty.remove(); }
    ops.forEach(function (op) {
      if (op[0] === "o") {
        var details = document.createElement("details");
        details.className = "grp";
        var summary = document.createElement("summary");
        numberLink(summary, op[1]);
        summary.insertAdjacentHTML("beforeend", op[2]);
        var body = document.createElement("div");
        details.appendChild(summary);
        details.appendChild(body);
        log.appendChild(details);
        current = body;
      } else if (op[0] === "l") {
        var line = document.createElement("div");
        line.className = op[2] ? "ln " + op[2] : "ln";
        numberLink(line, op[1]);
        line.insertAdjacentHTML("beforeend", op[3]);
        if (query) { filterLine(line, query); }
        current.appendChild(line);
      } else if (op[0] === "c") {
        current = log;
      }
    });
    if (query) { refilterGroups(query); }
    jumpToHash();
    if (stick && !location.hash && live.getAttribute("data-done") !== "true") {
      window.scrollTo(0, document.body.scrollHeight);
    }
  }

  // Opens the group holding the line in the address (#L123) and scrolls to it, once it exists.
  function jumpToHash() {
    if (jumped || !/^#L\d+$/.test(location.hash)) { return; }
    var target = document.getElementById(location.hash.slice(1));
    if (!target) { return; }
    jumped = true;
    var group = target.closest("details");
    if (group) { group.open = true; }
    target.scrollIntoView({ block: "center" });
  }

  window.addEventListener("hashchange", function () { jumped = false; jumpToHash(); });

  function refilterGroups(query) {
    log.querySelectorAll("details.grp").forEach(function (group) {
      var summary = group.querySelector("summary");
      var any = matches(summary, query) || group.querySelector(".ln:not(.hidden)") !== null;
      group.classList.toggle("hidden", !any);
      if (query && any) { group.open = true; }
    });
  }

  if (search) {
    search.addEventListener("input", function () {
      var query = search.value.trim().toLowerCase();
      log.querySelectorAll(".ln").forEach(function (line) { filterLine(line, query); });
      refilterGroups(query);
    });
  }

  function setJob(data) {
    job = data.key;
    var title = document.getElementById("log-job");
    if (title) { title.textContent = ": " + data.name; }
    var raw = document.getElementById("log-raw");
    if (raw) { raw.setAttribute("href", data.raw); }
  }

  function connect() {
    var url = "/runs/" + encodeURIComponent(runId) + "/live" + (job ? "?job=" + encodeURIComponent(job) : "");
    source = new EventSource(url);
    source.addEventListener("status", function (event) {
      var data = JSON.parse(event.data);
      live.innerHTML = data.html;
      live.setAttribute("data-status", data.status);
    });
    source.addEventListener("job", function (event) { setJob(JSON.parse(event.data)); });
    source.addEventListener("log", function (event) { apply(JSON.parse(event.data).ops); });
    source.addEventListener("end", function () {
      ended = true;
      source.close();
      live.setAttribute("data-done", "true");
      if (!log.querySelector(".ln, details")) {
        var empty = document.getElementById("log-empty");
        if (empty) { empty.textContent = job ? "This job wrote no log." : "This run has no jobs."; }
      }
    });
    source.addEventListener("shutdown", function () { source.close(); setTimeout(restart, 3000); });
    source.onerror = function () {
      if (ended) { return; }
      source.close();
      setTimeout(restart, 2000);
    };
  }

  // After a lost connection the stream starts again from the first line.
  function restart() {
    if (ended) { return; }
    log.textContent = "";
    current = log;
    jumped = false;
    connect();
  }

  connect();
})();

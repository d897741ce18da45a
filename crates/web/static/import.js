// A3: progress for the Import users forms. Without this script the forms
// post as plain multipart forms and the server answers with the next page;
// with it, the same forms are sent with XMLHttpRequest so that the page can
// show the upload's progress, then the rows the server has checked or
// created (GET /users/import/progress, under the form's `upload` key), and
// finally the page the server answered.
(function () {
  "use strict";

  function attach() {
    var forms = document.querySelectorAll("form[data-import-progress]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        send(form);
      });
    });
  }

  function megabytes(n) {
    return (n / (1024 * 1024)).toFixed(1) + " MB";
  }

  function send(form) {
    var box = document.getElementById("import-progress");
    var bar = document.getElementById("import-progress-bar");
    var label = document.getElementById("import-progress-label");
    var text = document.getElementById("import-progress-text");
    var buttons = form.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    box.hidden = false;
    label.textContent = "Uploading…";
    var data = new FormData(form);
    var upload = data.get("upload") || "";
    var applying = data.get("action") === "apply";
    var timer = null;

    function poll() {
      fetch("/users/import/progress?upload=" + encodeURIComponent(upload), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p || p.state === "unknown" || !p.total) { return; }
          bar.max = p.total;
          bar.value = p.done;
          label.textContent = p.state === "checking" ? "Checking rows…" : "Creating users…";
          text.textContent = p.done + " of " + p.total + " rows";
        })
        .catch(function () {});
    }

    function stop() {
      if (timer !== null) { clearInterval(timer); timer = null; }
    }

    var xhr = new XMLHttpRequest();
    // `form.action` would be the field named "action": read the attribute.
    xhr.open("POST", form.getAttribute("action"));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable && e.total > 0) {
        bar.max = e.total;
        bar.value = e.loaded;
        text.textContent = Math.round((100 * e.loaded) / e.total) + "% of " + megabytes(e.total);
      }
    };
    xhr.upload.onload = function () {
      label.textContent = applying ? "Creating users…" : "Checking rows…";
      text.textContent = "";
      bar.removeAttribute("value");
      timer = setInterval(poll, 250);
    };
    xhr.onload = function () {
      stop();
      // The answer is a whole page: the report, or (after an import) the
      // user list the server redirected to.
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      if (xhr.responseURL && xhr.responseURL !== location.href) {
        history.pushState(null, "", xhr.responseURL);
      }
      document.title = doc.title;
      document.body.replaceWith(document.adoptNode(doc.body));
      attach();
    };
    xhr.onerror = function () {
      stop();
      label.textContent = "The upload failed: check the connection and try again.";
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    };
    xhr.send(data);
  }

  attach();
})();

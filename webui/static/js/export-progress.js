/* Large exports download with a progress line (templates/audit/export_links.html). A click on a CSV or JSON
   link inside an element whose data-export-rows is above the page's threshold fetches the file instead,
   counts its lines as they arrive (about one a row), and saves it once its last line — the row count the
   server writes at the end — has come: a file cut short is never saved as if complete. Without this script,
   or in a browser without streams, the link downloads as it is. */
(function () {
  "use strict";
  var status = document.getElementById("export-progress");
  if (!status || !window.fetch || !window.ReadableStream || !window.TextDecoder || !window.URL) {
    return;
  }
  var threshold = parseInt(status.getAttribute("data-progress-from"), 10) || 10000;
  var bar = status.querySelector("progress");
  var line = status.querySelector(".export-progress-text");
  var locale = document.documentElement.lang || undefined;
  var busy = false;

  function say(template, rows, total) {
    line.textContent = template.replace("{rows}", rows.toLocaleString(locale))
      .replace("{total}", total.toLocaleString(locale));
  }

  function newlines(bytes) {
    var count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 10) {
        count++;
      }
    }
    return count;
  }

  function rowCount(tail) {  /* CSV: "# rows: N" (or "# 行数：N"); JSON: "count": N} */
    var match = /#[^\n\d]*(\d+)\s*$/.exec(tail) || /"count":\s*(\d+)\}\s*$/.exec(tail);
    return match ? parseInt(match[1], 10) : null;
  }

  function fileName(response, url) {
    var header = response.headers.get("Content-Disposition") || "";
    var exact = /filename\*=UTF-8''([^;]+)/i.exec(header);
    if (exact) {
      return decodeURIComponent(exact[1]);
    }
    var plain = /filename="([^"]+)"/i.exec(header);
    return plain ? plain[1] : url.pathname.split("/").pop();
  }

  function save(parts, type, name) {
    var address = URL.createObjectURL(new Blob(parts, {type: type}));
    var link = document.createElement("a");
    link.href = address;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(address); }, 60000);
  }

  async function download(url, expected) {
    busy = true;
    status.hidden = false;
    status.classList.remove("flash-error");
    bar.value = 0;
    try {
      var response = await fetch(url, {credentials: "same-origin"});
      if (!response.ok || !response.body) {
        throw new Error("HTTP " + response.status);
      }
      var total = parseInt(response.headers.get("X-Row-Count"), 10);
      total = isNaN(total) ? expected : total;
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var parts = [];
      var lines = 0;
      var tail = "";
      say(status.getAttribute("data-text-loading"), 0, total);
      for (;;) {
        var step = await reader.read();
        if (step.done) {
          break;
        }
        parts.push(step.value);
        lines += newlines(step.value);
        tail = (tail + decoder.decode(step.value, {stream: true})).slice(-200);
        var rows = Math.max(0, Math.min(lines - 1, total));  /* less the header (CSV) or the opening line (JSON) */
        bar.value = total ? Math.floor(100 * rows / total) : 100;
        say(status.getAttribute("data-text-loading"), rows, total);
      }
      var count = rowCount(tail);
      if (count === null) {
        throw new Error("no row count at the end");
      }
      save(parts, response.headers.get("Content-Type") || "application/octet-stream", fileName(response, url));
      bar.value = 100;
      say(status.getAttribute("data-text-done"), count, total);
    } catch (error) {
      status.classList.add("flash-error");
      line.textContent = status.getAttribute("data-text-broken");
    } finally {
      busy = false;
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-export-rows] a[href]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) {
      return;
    }
    var url = new URL(link.href, window.location.href);
    var expected = parseInt(link.closest("[data-export-rows]").getAttribute("data-export-rows"), 10);
    if (!/\.(csv|json)$/.test(url.pathname) || !(expected > threshold)) {
      return;  /* a small export, or not an export: the link as it is */
    }
    event.preventDefault();
    if (!busy) {
      download(url, expected);
    }
  });
})();

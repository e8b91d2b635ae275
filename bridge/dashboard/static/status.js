// arrsync status page: fetch the live panel every second and swap it in; send retries.
"use strict";
(function () {
  const live = document.getElementById("live");
  const note = document.getElementById("note");
  let busy = false;

  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const answer = await fetch("live", { cache: "no-store" });
      if (answer.ok) {
        live.innerHTML = await answer.text();
      } else {
        note.textContent = "could not refresh: HTTP " + answer.status;
      }
    } catch (error) {
      note.textContent = "the bridge does not answer";
    } finally {
      busy = false;
    }
  }

  // One listener for every retry button, present and future (the panel is replaced).
  live.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-retry]");
    if (!button) return;
    const job = button.dataset.retry;
    button.disabled = true;
    button.textContent = "Retrying…";
    const answer = await fetch("api/retry", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ job: job }),
    });
    const body = await answer.json().catch(function () { return {}; });
    note.textContent = answer.ok ? "retry of job " + job + " requested"
                                 : (body.error || "retry failed: HTTP " + answer.status);
    refresh();
  });

  setInterval(refresh, 1000);
})();

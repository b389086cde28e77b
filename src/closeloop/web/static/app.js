// Clicking a transcript turn seeks the recording to it (no inline script: the CSP allows only this file).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.seek");
  const player = document.getElementById("player");
  if (!button || !player) return;
  player.currentTime = parseFloat(button.dataset.start || "0");
  player.play().catch(() => {});
});

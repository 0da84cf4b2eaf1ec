// Progressive enhancement: "Copy" buttons for snippets. Every page works
// without this script (the snippets are plain, selectable text).
document.querySelectorAll("button.copy[data-copy]").forEach(function (btn) {
  var target = document.getElementById(btn.getAttribute("data-copy"));
  if (!target || !navigator.clipboard) return;
  btn.hidden = false;
  btn.addEventListener("click", function () {
    navigator.clipboard.writeText(target.innerText.replace(/\n$/, "")).then(function () {
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = "Copy"; }, 1500);
    });
  });
});

// The drawing field of the signing page (signature_pad, vendored from npm; MIT).
// The drawn signature goes into the hidden "signature" field as a PNG data URL.
(function () {
  "use strict";
  var canvas = document.getElementById("pad");
  var field = document.getElementById("signature");
  var form = document.getElementById("sign-form");
  if (!canvas || !window.SignaturePad) { return; }
  var pad = new window.SignaturePad(canvas, { backgroundColor: "rgba(0,0,0,0)" });

  // Match the canvas to its CSS size and the screen's pixel ratio (sharp on phones).
  function resize() {
    // The server accepts at most 2000 x 1000 pixels: cap the ratio so the PNG stays inside.
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    ratio = Math.min(ratio, 2000 / Math.max(canvas.offsetWidth, 1), 1000 / Math.max(canvas.offsetHeight, 1));
    var data = pad.toData();
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    pad.fromData(data);
  }
  window.addEventListener("resize", resize);
  resize();

  document.getElementById("clear").addEventListener("click", function () { pad.clear(); field.value = ""; });
  form.addEventListener("submit", function () { field.value = pad.isEmpty() ? "" : pad.toDataURL("image/png"); });
}());

// faceswap ui, mask-labels page: paint include/exclude polygons on a face and save them in its record.
// Points are kept in the pixels of the face as shown (VIEW px) and sent with "size": VIEW, the label
// file format of `faceswap mask label`; the server scales them to the stored face as that command does.
"use strict";
const VIEW = 384;
const MK = { set: "", face: "", size: 256, polys: [], cur: [], faces: [] };
const mkKind = () => document.querySelector('input[name="mk-kind"]:checked').value;
const mkUrl = (tail = "") => `/api/masks/${encodeURIComponent(MK.set)}/${encodeURIComponent(MK.face)}${tail}`;

async function mkLoadSet() {
  MK.set = $("mk-set").value;
  if (!MK.set) { $("mk-info").textContent = "no face sets yet: extract one on the Workspace page"; return; }
  try {
    MK.faces = [];
    for (let total = 1; MK.faces.length < total;) {          // every name, 1000 per request
      const data = await api(`/api/facesets/${encodeURIComponent(MK.set)}/faces?offset=${MK.faces.length}&limit=1000`);
      if (!data.faces.length) break;
      MK.faces.push(...data.faces.map((f) => f.name)); total = data.total;
    }
    options($("mk-face"), MK.faces, false);
    await mkLoadFace();
  } catch (err) { say(err.message); }
}

async function mkLoadFace() {
  MK.face = $("mk-face").value; MK.cur = []; MK.polys = [];
  if (!MK.face) { $("mk-info").textContent = "this face set has no faces"; mkDraw(); return; }
  try {
    const info = await api(mkUrl());
    const k = VIEW / info.size;
    MK.size = info.size;
    MK.polys = info.labels.map((l) => ({ kind: l.kind, points: l.points.map(([x, y]) => [x * k, y * k]) }));
    const keep = $("mk-mask").value;
    options($("mk-mask"), [...info.masks, "none"], false);
    $("mk-mask").value = info.masks.includes(keep) ? keep : info.masks.includes("segment") ? "segment" : (info.masks[0] || "none");
    $("mk-img").src = mkUrl("/image");
    mkOverlay();
    $("mk-info").textContent = `${info.size} px face; masks: ${info.masks.join(", ") || "none"}; ${info.labels.length} label polygons stored`;
    mkDraw();
  } catch (err) { say(err.message); }
}

function mkOverlay() {
  const mask = $("mk-mask").value;
  $("mk-overlay").hidden = mask === "none" || !mask;
  if (mask && mask !== "none") $("mk-overlay").src = mkUrl("/overlay?mask=" + encodeURIComponent(mask) + "&t=" + Date.now());
}

function mkDraw() {
  const c = $("mk-canvas"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const colour = (kind, a) => kind === "include" ? `rgba(30,200,80,${a})` : `rgba(230,40,40,${a})`;
  for (const p of MK.polys) {
    ctx.beginPath(); p.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y))); ctx.closePath();
    ctx.fillStyle = colour(p.kind, 0.3); ctx.fill(); ctx.strokeStyle = colour(p.kind, 1); ctx.lineWidth = 2; ctx.stroke();
  }
  if (MK.cur.length) {
    ctx.beginPath(); MK.cur.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.strokeStyle = colour(mkKind(), 1); ctx.setLineDash([5, 4]); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = colour(mkKind(), 1);
    for (const [x, y] of MK.cur) { ctx.beginPath(); ctx.arc(x, y, 3.5, 0, 2 * Math.PI); ctx.fill(); }
  }
}

$("mk-canvas").addEventListener("click", (e) => {
  if (!MK.face) return;
  const c = e.currentTarget, r = c.getBoundingClientRect();
  MK.cur.push([(e.clientX - r.left) * c.width / r.width, (e.clientY - r.top) * c.height / r.height]);
  mkDraw();
});
$("mk-close").addEventListener("click", () => {
  if (MK.cur.length < 3) { say(`a polygon needs at least 3 points (this one has ${MK.cur.length})`); return; }
  MK.polys.push({ kind: mkKind(), points: MK.cur }); MK.cur = []; say(""); mkDraw();
});
$("mk-undo").addEventListener("click", () => { if (MK.cur.length) MK.cur.pop(); else MK.polys.pop(); mkDraw(); });
$("mk-clear").addEventListener("click", () => { MK.cur = []; MK.polys = []; mkDraw(); say("cleared: save to remove the stored labels", "info"); });
$("mk-save").addEventListener("click", async () => {
  if (!MK.face) { say("choose a face first"); return; }
  // an unfinished polygon is sent too: the server closes it, or says in one line why it cannot
  const labels = [...MK.polys, ...(MK.cur.length ? [{ kind: mkKind(), points: MK.cur }] : [])];
  try {
    const r = await post(mkUrl("/labels"), { size: VIEW, labels: labels.map((p) => ({ kind: p.kind, points: p.points })) });
    MK.polys = labels; MK.cur = []; mkDraw();
    $("mk-info").textContent = $("mk-info").textContent.replace(/\d+ label polygons stored/, `${r.labels} label polygons stored`);
    say(`${r.labels} label polygons saved in ${MK.face}`, "info");
  } catch (err) { say(err.message); }
});
function mkStep(d) {
  const i = MK.faces.indexOf($("mk-face").value) + d;
  if (i < 0 || i >= MK.faces.length) return;
  $("mk-face").value = MK.faces[i]; mkLoadFace();
}
$("mk-prev").addEventListener("click", () => mkStep(-1));
$("mk-next").addEventListener("click", () => mkStep(1));
$("mk-set").addEventListener("change", mkLoadSet);
$("mk-face").addEventListener("change", mkLoadFace);
$("mk-mask").addEventListener("change", mkOverlay);
for (const el of document.querySelectorAll('input[name="mk-kind"]')) el.addEventListener("change", mkDraw);

$("mk-train").addEventListener("click", async () => {
  try {
    const { job } = await post("/api/mask/train", { faceset: $("mk-set").value, name: $("mk-model").value.trim(),
                                                    iters: $("mk-iters").value, batch: $("mk-batch").value });
    say(`mask train ${job.target} started`, "info"); pollJobs();
  } catch (err) { say(err.message); }
});
$("mk-apply").addEventListener("click", async () => {
  try {
    const { job } = await post("/api/mask/apply", { faceset: $("mk-set").value, model: $("mk-own").checked ? $("mk-model").value.trim() : "" });
    say(`mask apply on ${job.target} started`, "info"); pollJobs();
  } catch (err) { say(err.message); }
});
// a finished mask apply adds a mask: show the face again
document.addEventListener("jobs-done", () => { if (location.hash === "#masks" && MK.face) mkLoadFace(); });

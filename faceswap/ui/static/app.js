// faceswap ui: plain JS over the JSON routes of faceswap/ui/app.py. Nothing is loaded from elsewhere.
"use strict";
const $ = (id) => document.getElementById(id);
const S = { ws: null, faces: { set: "", offset: 0, total: 0, loading: false, selected: new Set() },
            merge: { video: "", frames: 0, session: null, timer: null, seq: 0 } };

function say(text, kind = "error") { const m = $("msg"); m.textContent = text || ""; m.className = text ? kind : ""; }
async function api(path, options = {}) {
  const response = await fetch(path, options);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}
const post = (path, body) => api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const size = (n) => n > 1e9 ? (n / 1e9).toFixed(1) + " GB" : n > 1e6 ? (n / 1e6).toFixed(1) + " MB" : (n / 1e3).toFixed(0) + " kB";
const date = (t) => t ? new Date(t * 1000).toLocaleString() : "";
function table(el, head, rows) {
  el.innerHTML = "<tr>" + head.map((h) => `<th>${h}</th>`).join("") + "</tr>" +
    rows.map((r) => "<tr>" + r.map((c) => `<td>${c}</td>`).join("") + "</tr>").join("");
}
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
function options(el, names, keep = true) {
  const old = el.value;
  el.innerHTML = names.map((n) => `<option>${esc(n)}</option>`).join("");
  if (keep && names.includes(old)) el.value = old;
}

// ---- pages
function show() {
  const page = (location.hash || "#workspace").slice(1);
  document.querySelectorAll(".page").forEach((p) => p.classList.toggle("on", p.id === "page-" + page));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("on", a.dataset.page === page));
  say("");
  refresh().then(() => {
    if (page === "faces") { if (!S.faces.set) loadFaces(true); else { S.faces.drawn = ""; drawGrid(); } }
    if (page === "train") trainTick();
    if (page === "masks" && !MK.set) mkLoadSet();
  });
}
window.addEventListener("hashchange", show);

async function refresh() {
  try { S.ws = await api("/api/workspace"); } catch (e) { say(e.message); return; }
  const ws = S.ws;
  $("root").textContent = ws.root;
  table($("t-facesets"), ["name", "faces", "rejected", "size", "modified", "state"], ws.facesets.map((f) =>
    [esc(f.name), f.faces, f.rejected, size(f.size), date(f.modified), f.problem ? esc(f.problem) : f.complete ? "complete" : "unfinished"]));
  table($("t-models"), ["name", "plugin", "iteration", "size", "modified"], ws.models.map((m) =>
    [esc(m.name), esc(m.plugin), m.iteration, size(m.size), date(m.modified)]));
  table($("t-outputs"), ["file", "size", "modified"], ws.outputs.map((o) => [esc(o.name), size(o.size), date(o.modified)]));
  for (const kind of ["detector", "landmarker", "masker"]) options($("x-" + kind), ws.choices[kind]);
  if (!$("x-masker").dataset.set) { $("x-detector").value = "scrfd"; $("x-landmarker").value = "2d106"; $("x-masker").value = ws.choices.masker.includes("extended") ? "extended" : ws.choices.masker[0]; $("x-masker").dataset.set = 1; }
  const sets = ws.facesets.map((f) => f.name);
  options($("g-set"), sets); options($("mk-set"), sets); options($("tr-src"), sets); options($("tr-dst"), sets);
  if (!$("tr-src").dataset.set) { if (sets.includes("src")) $("tr-src").value = "src"; if (sets.includes("dst")) $("tr-dst").value = "dst"; $("tr-src").dataset.set = 1; }
  options($("m-video"), ws.videos.map((v) => v.name)); options($("m-model"), ws.models.filter((m) => m.trained).map((m) => m.name));
  options($("m-color"), ws.choices.color); options($("m-blender"), ws.choices.blender);
  if (!$("m-color").dataset.set) { $("m-color").value = "rct"; $("m-blender").value = "alpha"; $("m-color").dataset.set = 1; }
  jobsTable(ws.jobs);
}

function jobsTable(jobs) {
  // every jobs table on every page; data-kinds limits one to some kinds of job
  for (const el of document.querySelectorAll("table.jobs")) {
    const kinds = el.dataset.kinds ? el.dataset.kinds.split(" ") : null;
    table(el, ["job", "on", "state", "progress", "", "message"], jobs.filter((j) => !kinds || kinds.includes(j.kind)).map((j) => {
      const bar = j.total ? `<progress max="${j.total}" value="${j.done}"></progress> ${j.done}/${j.total}` : `${j.done}`;
      const stop = j.state === "running" ? `<button data-stop="${j.id}">Stop</button>` : "";
      const code = j.exit_code ? ` (exit ${j.exit_code})` : "";      // a failure's exit status
      return [j.kind, esc(j.target), `<span class="state" data-job="${j.id}">${j.state}</span>${code}`, bar, stop, esc(j.message)];
    }));
  }
}
document.addEventListener("click", async (e) => {
  const id = e.target.dataset && e.target.dataset.stop; if (!id) return;
  try { await post(`/api/jobs/${id}/stop`, {}); say("stopping job " + id, "info"); } catch (err) { say(err.message); }
});
async function pollJobs() {
  try {
    const { jobs } = await api("/api/jobs");
    jobsTable(jobs);
    const running = jobs.some((j) => j.state === "running" || j.state === "stopping");
    if (S.jobsRunning && !running) { refresh(); document.dispatchEvent(new Event("jobs-done")); }
    S.jobsRunning = running; S.jobs = jobs;
    const failed = jobs.find((j) => j.state === "failed" && !j.seen);
    if (failed && !S.shown?.has(failed.id)) { (S.shown ??= new Set()).add(failed.id); say(`${failed.kind} ${failed.target}: ${failed.message || "failed"}`); }
  } catch (e) { /* the server restarting: try again */ }
}
setInterval(pollJobs, 1000);

// ---- workspace: extract
$("f-extract").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    let source = $("x-source").value.trim();
    const file = $("x-file").files[0];
    if (file) {
      say(`uploading ${file.name}...`, "info");
      source = (await api("/api/upload?name=" + encodeURIComponent(file.name), { method: "POST", body: file })).name;
    }
    const { job } = await post("/api/extract", { source, name: $("x-name").value.trim(), detector: $("x-detector").value,
      landmarker: $("x-landmarker").value, masker: $("x-masker").value, every: $("x-every").value });
    say(`extract started: face set ${job.target}`, "info");
    pollJobs();
  } catch (err) { say(err.message); }
});

// ---- face set browser: static/gallery.js

// ---- training
$("f-train").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const { job } = await post("/api/train", { name: $("tr-name").value.trim(), src: $("tr-src").value, dst: $("tr-dst").value,
      preset: $("tr-preset").value, iters: $("tr-iters").value, minutes: $("tr-minutes").value, batch: $("tr-batch").value,
      preview_every: $("tr-preview").value, pixel: $("tr-pixel").value, lpips_weight: $("tr-lpips").value,
      identity_weight: $("tr-identity").value });
    say(`training ${job.target} started`, "info");
  } catch (err) { say(err.message); }
});
$("tr-stop").addEventListener("click", async () => {
  const job = (S.jobs || []).find((j) => j.kind === "train" && j.target === $("tr-name").value.trim() && j.state === "running");
  if (!job) { say("no training of this model is running"); return; }
  try { await post(`/api/jobs/${job.id}/stop`, {}); say("stopping: the model saves first", "info"); } catch (err) { say(err.message); }
});
function plot(svg, loss) {
  const series = [["src", "#1f77b4"], ["dst", "#d62728"]];
  const xs = loss.iteration; if (xs.length < 2) { svg.innerHTML = `<text x="10" y="20">no loss yet</text>`; return; }
  const all = series.flatMap(([k]) => loss[k]); const lo = Math.min(...all), hi = Math.max(...all);
  const X = (x) => 40 + (x - xs[0]) / Math.max(1, xs[xs.length - 1] - xs[0]) * 550, Y = (y) => 185 - (y - lo) / Math.max(1e-9, hi - lo) * 170;
  svg.innerHTML = series.map(([k, c]) => `<polyline fill="none" stroke="${c}" points="${loss[k].map((y, i) => X(xs[i]).toFixed(1) + "," + Y(y).toFixed(1)).join(" ")}"/>` +
    `<text x="${k === "src" ? 50 : 200}" y="14" fill="${c}">${k} ${loss[k][loss[k].length - 1]}</text>`).join("") +
    `<text x="2" y="190" font-size="10">${lo.toFixed(3)}</text><text x="2" y="20" font-size="10">${hi.toFixed(3)}</text>` +
    `<text x="480" y="198" font-size="10">iteration ${xs[xs.length - 1]}</text>`;
}
async function trainTick() {
  if (location.hash !== "#train") return;
  const name = $("tr-name").value.trim();
  const job = (S.jobs || []).find((j) => j.kind === "train" && j.target === name);
  try {
    if (S.ws && S.ws.models.some((m) => m.name === name)) {
      const m = await api(`/api/models/${encodeURIComponent(name)}`);
      plot($("tr-loss"), m.loss);
      $("tr-preview-img").hidden = !m.preview;
      if (m.preview && m.preview !== S.trainPreview) { $("tr-preview-img").src = `/api/models/${encodeURIComponent(name)}/preview?${m.preview}`; S.trainPreview = m.preview; }
      const speed = job && job.samples_s ? `, ${job.samples_s} samples/s` : "";
      $("tr-status").textContent = `${name}: iteration ${job && job.iteration ? job.iteration : m.iteration}${speed}` + (job ? ` (${job.state})` : "");
    } else { $("tr-status").textContent = `${name}: not trained yet`; $("tr-loss").innerHTML = ""; }
  } catch (err) { say(err.message); }
}
setInterval(trainTick, 2000);

// ---- merge tuner
const style = () => ({ color: $("m-color").value, blender: $("m-blender").value, mask: $("m-mask").value,
                       erode: +$("m-erode").value, blur: +$("m-blur").value, sharpen: +$("m-sharpen").value });
const showNumbers = () => { for (const k of ["erode", "blur", "sharpen"]) $(`m-${k}-v`).value = $(`m-${k}`).value; };
function setStyle(s) {
  $("m-color").value = s.color; $("m-blender").value = s.blender; $("m-mask").value = s.mask;
  $("m-erode").value = s.erode; $("m-blur").value = s.blur; $("m-sharpen").value = s.sharpen ?? 1; showNumbers();
}
function styleAt(i) {
  const m = S.merge; let s = { ...m.session.settings };
  for (const r of m.session.ranges) if (r.start <= i && i <= r.end) s = { ...s, ...r.settings };
  return s;
}
function drawRanges() {
  $("m-ranges").innerHTML = S.merge.session.ranges.map((r, k) =>
    `<li>frames ${r.start}–${r.end}: ${esc(JSON.stringify(r.settings))} <button data-drop="${k}">remove</button></li>`).join("");
}
$("m-ranges").addEventListener("click", (e) => {
  if (e.target.dataset.drop === undefined) return;
  S.merge.session.ranges.splice(+e.target.dataset.drop, 1); drawRanges(); setStyle(styleAt(+$("m-frame").value)); preview();
});
$("m-open").addEventListener("click", async () => {
  const m = S.merge; m.video = $("m-path").value.trim() || $("m-video").value;
  try {
    const info = await api("/api/tuner/info?video=" + encodeURIComponent(m.video));
    m.frames = info.frames; $("m-frame").max = info.frames - 1; $("m-to").value = info.frames - 1;
    m.session = info.session || { format: "faceswap-merge-session", schema: 1, model: $("m-model").value, settings: style(), ranges: [] };
    if (info.session && info.session.model) $("m-model").value = info.session.model;
    $("m-info").textContent = `${info.width}×${info.height}, ${info.frames} frames, ${info.fps.toFixed(2)} fps`;
    drawRanges(); setStyle(styleAt(0)); preview();
  } catch (err) { say(err.message); }
});
function preview() {
  const m = S.merge; if (!m.session) return;
  clearTimeout(m.timer);
  m.timer = setTimeout(async () => {
    const seq = ++m.seq, started = performance.now();
    const q = new URLSearchParams({ video: m.video, index: $("m-frame").value, model: $("m-model").value, ...style() });
    try {
      const response = await fetch("/api/tuner/preview?" + q);
      if (!response.ok) { say((await response.json()).error); return; }
      const blob = await response.blob();
      if (seq !== m.seq) return;                   // a newer request is on its way
      const img = $("m-preview"); URL.revokeObjectURL(img.src); img.src = URL.createObjectURL(blob);
      img.dataset.frame = $("m-frame").value; img.dataset.seq = seq;
      $("m-time").textContent = `${Math.round(performance.now() - started)} ms, ${response.headers.get("X-Faces")} faces`;
      say("");
    } catch (err) { say(err.message); }
  }, 60);
}
$("m-frame").addEventListener("input", () => {
  const i = +$("m-frame").value; $("m-frame-n").textContent = "frame " + i;
  if (S.merge.session) setStyle(styleAt(i)); preview();
});
for (const id of ["m-color", "m-blender", "m-mask", "m-erode", "m-blur", "m-sharpen", "m-model"]) $(id).addEventListener("input", () => {
  showNumbers(); preview();
});
$("m-base").addEventListener("click", () => { if (!S.merge.session) return; S.merge.session.settings = style(); say("default settings set (save the session to keep them)", "info"); });
$("m-range").addEventListener("click", () => {
  const m = S.merge; if (!m.session) { say("open a video first"); return; }
  const start = +$("m-from").value, end = +$("m-to").value;
  if (!(start >= 0 && end >= start && end < m.frames)) { say(`frames ${start} to ${end} are not a range inside 0..${m.frames - 1}`); return; }
  const base = m.session.settings, now = style(), changes = {};
  for (const k of Object.keys(now)) if (now[k] !== base[k]) changes[k] = now[k];
  m.session.ranges.push({ start, end, settings: changes }); drawRanges();
});
$("m-save").addEventListener("click", async () => {
  const m = S.merge; if (!m.session) { say("open a video first"); return; }
  try { m.session.model = $("m-model").value; const r = await post("/api/tuner/session", { video: m.video, session: m.session }); say("session saved: " + r.path, "info"); }
  catch (err) { say(err.message); }
});
$("m-render").addEventListener("click", async () => {
  const m = S.merge; if (!m.session) { say("open a video first"); return; }
  try { const { job } = await post("/api/tuner/render", { video: m.video, model: $("m-model").value }); say(`rendering ${job.target} (progress on the Workspace page)`, "info"); }
  catch (err) { say(err.message); }
});

window.addEventListener("DOMContentLoaded", show);   // after masks.js has loaded too

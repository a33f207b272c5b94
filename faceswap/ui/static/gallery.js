// faceswap ui, face set browser: a windowed gallery. The grid is as tall as the whole set, but only
// the rows in (and a few around) the window exist as <img>, placed absolutely; names arrive in pages
// of PAGE as the window nears the end of those loaded. Thumbnails are cached JPEGs on the server.
"use strict";
const PITCH = 106, BUFFER_ROWS = 4, PAGE = 500;   // 96 px + 2 x 3 px border + 4 px gap
const G = S.faces;
Object.assign(G, { names: [], nodes: new Map(), drawn: "", rejected: false, rejectedCount: 0 });
const thumbUrl = (name) => `/api/facesets/${encodeURIComponent(G.set)}/thumb/${name}` + (G.rejected ? "?rejected=1" : "");

async function loadFaces(reset) {
  if (reset) {
    // a page still on its way belongs to the old view: its answer is dropped (seq), it no longer blocks
    Object.assign(G, { set: $("g-set").value, names: [], offset: 0, total: 0, drawn: "", loading: false });
    G.selected.clear(); G.nodes.clear(); $("g-grid").replaceChildren(); G.seq = (G.seq || 0) + 1;
    G.rejected = $("g-rejected").checked;
    $("g-reject").hidden = G.rejected; $("g-restore").hidden = !G.rejected;
  }
  if (!G.set || G.loading || (G.names.length > 0 && G.names.length >= G.total)) return;
  G.loading = true;
  const seq = G.seq;
  const q = new URLSearchParams({ offset: G.names.length, limit: PAGE, sort: $("g-sort").value, desc: $("g-desc").checked ? 1 : 0,
                                  where: $("g-where").value, min: $("g-min").value, max: $("g-max").value, rejected: G.rejected ? 1 : 0 });
  try {
    const data = await api(`/api/facesets/${encodeURIComponent(G.set)}/faces?` + q);
    if (seq !== G.seq) return;                      // the set or the view changed meanwhile
    if (data.scores_available && $("g-sort").options.length === 1) {
      for (const c of ["sharpness", "yaw", "pitch", "roll", "brightness", "detection", "align_error"]) {
        $("g-sort").add(new Option(c, c)); $("g-where").add(new Option(c, c));
      }
    }
    G.total = data.total; G.rejectedCount = data.rejected;
    G.names.push(...data.faces.map((face) => face.name)); G.offset = G.names.length;
    countLine();
  } catch (err) { say(err.message); }
  finally { if (seq === G.seq) G.loading = false; }
  drawGrid();
}

function drawGrid() {
  const grid = $("g-grid");
  const cols = Math.max(1, Math.floor((grid.clientWidth + 4) / PITCH));
  grid.style.height = Math.ceil(G.total / cols) * PITCH + "px";
  const top = Math.max(0, -grid.getBoundingClientRect().top);
  const first = Math.max(0, Math.floor(top / PITCH) - BUFFER_ROWS) * cols;
  const last = Math.min(G.total, (Math.ceil((top + innerHeight) / PITCH) + BUFFER_ROWS) * cols);
  if (last > G.names.length && G.names.length < G.total) loadFaces(false);
  const end = Math.min(last, G.names.length), key = `${first}:${end}:${cols}`;
  const shownFrom = Math.floor(top / PITCH) * cols, shownTo = Math.ceil((top + innerHeight) / PITCH) * cols;
  if (key === G.drawn && !G.dirty) return;
  const moved = !G.drawn.endsWith(`:${cols}`) || G.dirty;   // new columns (or names): every cell moves
  G.drawn = key; G.dirty = false;
  const keep = new Map(), fresh = document.createDocumentFragment();
  for (let i = first; i < end; i++) {
    const name = G.names[i];
    let img = G.nodes.get(name);
    if (!img) {
      img = new Image(96, 96);
      img.decoding = "async"; img.dataset.name = name; img.title = name;
      img.fetchPriority = i >= shownFrom && i < shownTo ? "high" : "low";   // on screen first, the margin after
      img.src = thumbUrl(name);
      if (G.selected.has(name)) img.classList.add("sel");
      fresh.appendChild(img);
    } else if (!moved) { keep.set(name, img); continue; }
    img.style.transform = `translate(${(i % cols) * PITCH}px, ${Math.floor(i / cols) * PITCH}px)`;
    keep.set(name, img);
  }
  // touch only the cells that come and go: the rest stay put, so the browser repaints little
  for (const [name, img] of G.nodes) if (!keep.has(name)) img.remove();
  G.nodes = keep;
  grid.appendChild(fresh);
}
let gridFrame = 0;
const redraw = () => { if (!gridFrame && location.hash === "#faces") gridFrame = requestAnimationFrame(() => { gridFrame = 0; drawGrid(); }); };
window.addEventListener("scroll", redraw, { passive: true });
window.addEventListener("resize", () => { G.drawn = ""; redraw(); });

function countLine() {
  $("g-count").textContent = G.rejected ? `${G.total} rejected faces, ${G.selected.size} selected`
                                        : `${G.total} faces, ${G.rejectedCount} rejected, ${G.selected.size} selected`;
}
$("g-set").addEventListener("change", () => loadFaces(true));
$("g-rejected").addEventListener("change", () => loadFaces(true));
$("g-apply").addEventListener("click", () => loadFaces(true));
$("g-grid").addEventListener("click", async (e) => {
  const name = e.target.dataset.name; if (!name) return;
  if (G.selected.has(name)) { G.selected.delete(name); e.target.classList.remove("sel"); }
  else { G.selected.add(name); e.target.classList.add("sel"); }
  countLine();
  try {
    const meta = await api(`/api/facesets/${encodeURIComponent(G.set)}/meta/${name}` + (G.rejected ? "?rejected=1" : ""));
    $("g-meta").textContent = name + "\n" + Object.entries(meta).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n");
  }
  catch (err) { say(err.message); }
});
async function moveSelected(action, done) {
  const names = [...G.selected];
  if (!names.length) { say("select faces first (click them)"); return; }
  try {
    const { moved } = await post(`/api/facesets/${encodeURIComponent(G.set)}/${action}`, { names });
    const gone = new Set(moved);
    for (const n of moved) G.selected.delete(n);
    G.names = G.names.filter((n) => !gone.has(n)); G.offset = G.names.length;
    G.total -= moved.length; G.rejectedCount += action === "reject" ? moved.length : -moved.length;
    G.dirty = true; drawGrid();
    say(`${moved.length} faces ${done}` + (moved.length < names.length ? ` (${names.length - moved.length} not moved: a face of that name is back in faces/)` : ""), "info");
    countLine();
  } catch (err) { say(err.message); }
}
$("g-reject").addEventListener("click", () => moveSelected("reject", "moved to rejected/"));
$("g-restore").addEventListener("click", () => moveSelected("restore", "restored to faces/"));

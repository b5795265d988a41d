// AmbientGen Studio: plays a render's stems through WebAudio, placed again the way the renderer places layers
// (ambientgen/mix.py `place`: width, then gain and constant-power pan), so what you hear is what Export writes.
// Long renders are auditioned as excerpts read with HTTP Range requests; an hour is never decoded whole.
"use strict";

const TOKEN = document.querySelector('meta[name="studio-token"]').content;
const LIMITS = {
  whole_s: 120,            // renders up to this long are held whole and looped sample-exactly
  excerpt_s: 60,           // longer ones: an excerpt this long, read with Range requests
};
const LOOP_SIDE_S = 4;     // "hear the loop point": the last seconds, then the first
const $ = (sel, root = document) => root.querySelector(sel);

const S = {
  state: null, edit: null, values: null, manifest: null, rendered: {}, ctx: null,
  buffers: {}, layerNodes: {}, sources: [], master: null, timerGain: null, playing: false,
  excerptAt: 0, excerptLen: 0, startedAt: 0, solo: new Set(), valid: true, polling: null,
};

// ---------------------------------------------------------------- placement (mirrors ambientgen.mix.place)
function panGains(pan) { const t = (pan + 1) * Math.PI / 4; return [Math.cos(t), Math.sin(t)]; }
function dbGain(db) { return Math.pow(10, db / 20); }

// The 2x2 matrix taking a stem placed with `was` (gain_db, pan, width) to the same layer placed with `now`.
// A placed stem is g*l*n(w)*(M + k(w) S) on the left and g*r*n(w)*(M - k(w) S) on the right (M: the layer,
// S: its decorrelated copy for a mono source, its side signal for a stereo one), so M and S come back exactly
// from the two channels and are placed again. Returns {LL, RL, LR, RR, exact}: input channel -> output channel.
function placement(was, now, mono, events) {
  const g = dbGain(now.gain_db - was.gain_db);
  if (events) return { LL: g, RL: 0, LR: 0, RR: g, exact: was.pan === now.pan && was.width === now.width };
  const norm = w => (mono ? 1 / Math.sqrt(1 + w * w) : 1), k = w => (mono ? w : 2 * w);
  const [l0, r0] = panGains(was.pan), [l1, r1] = panGains(now.pan);
  let exact = true, s = 1, n = norm(now.width) / norm(was.width);
  if (k(was.width) > 1e-9) s = k(now.width) / k(was.width);
  else if (now.width !== was.width) { exact = false; n = 1; }        // no side signal was rendered
  if (l0 < 1e-6 || r0 < 1e-6) {                                       // hard-panned: one channel is silent
    return { LL: g, RL: 0, LR: 0, RR: g, exact: exact && was.pan === now.pan };
  }
  const a = g * n;
  return { LL: a * l1 * (1 + s) / 2 / l0, RL: a * l1 * (1 - s) / 2 / r0,
           LR: a * r1 * (1 - s) / 2 / l0, RR: a * r1 * (1 + s) / 2 / r0, exact };
}

// ---------------------------------------------------------------- WAV excerpts over HTTP Range
const wavInfos = {};
async function rangeBytes(url, first, last) {
  const res = await fetch(url, { headers: { Range: `bytes=${first}-${last}` } });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  const buf = await res.arrayBuffer();
  if (res.status === 200 && first > 0) return buf.slice(first, last + 1); // a server without Range support
  return buf;
}
async function wavInfo(url) {
  if (wavInfos[url]) return wavInfos[url];
  const head = new DataView(await rangeBytes(url, 0, 65535));
  const tag = o => String.fromCharCode(head.getUint8(o), head.getUint8(o + 1), head.getUint8(o + 2), head.getUint8(o + 3));
  const riff = tag(0);
  if ((riff !== "RIFF" && riff !== "RF64") || tag(8) !== "WAVE") throw new Error(`${url}: not a WAV file`);
  let o = 12, info = { url }, ds64 = null;
  while (o + 8 <= head.byteLength) {
    const id = tag(o), size = head.getUint32(o + 4, true);
    if (id === "ds64") ds64 = Number(head.getBigUint64(o + 16, true));
    if (id === "fmt ") {
      let format = head.getUint16(o + 8, true);
      info.channels = head.getUint16(o + 10, true);
      info.rate = head.getUint32(o + 12, true);
      info.blockAlign = head.getUint16(o + 20, true);
      info.bits = head.getUint16(o + 22, true);
      if (format === 0xfffe) format = head.getUint16(o + 32, true); // WAVE_FORMAT_EXTENSIBLE: its sub-format
      info.float = format === 3;
    }
    if (id === "data") {
      info.offset = o + 8;
      info.frames = Math.floor((size === 0xffffffff && ds64 !== null ? ds64 : size) / info.blockAlign);
      return (wavInfos[url] = info);
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`${url}: no data chunk in its first 64 KB`);
}
async function readFrames(info, start, frames) {
  start = Math.max(0, Math.min(start, info.frames)); frames = Math.max(0, Math.min(frames, info.frames - start));
  const out = Array.from({ length: info.channels }, () => new Float32Array(frames));
  if (!frames) return out;
  const first = info.offset + start * info.blockAlign;
  const v = new DataView(await rangeBytes(info.url, first, first + frames * info.blockAlign - 1));
  const bytes = info.bits / 8, ch = info.channels;
  for (let i = 0, p = 0; i < frames; i++) {
    for (let c = 0; c < ch; c++, p += bytes) {
      let x;
      if (info.float) x = bytes === 8 ? v.getFloat64(p, true) : v.getFloat32(p, true);
      else if (bytes === 2) x = v.getInt16(p, true) / 32768;
      else if (bytes === 3) x = ((v.getUint8(p) | (v.getUint8(p + 1) << 8) | (v.getInt8(p + 2) << 16))) / 8388608;
      else if (bytes === 4) x = v.getInt32(p, true) / 2147483648;
      else x = (v.getUint8(p) - 128) / 128;
      out[c][i] = x;
    }
  }
  return out;
}
function toBuffer(ctx, channels, rate) {
  const n = channels[0].length, buf = ctx.createBuffer(2, Math.max(1, n), rate);
  buf.copyToChannel(channels[0], 0); buf.copyToChannel(channels[channels.length > 1 ? 1 : 0], 1);
  return buf;
}

// ---------------------------------------------------------------- the audio graph
function stems() { return (S.manifest?.files || []).filter(f => f.kind === "stem"); }
function layerInfo(name) { return (S.manifest?.layers || []).find(l => l.name === name); }
function valuesOf(name) { return S.values.layers.find(l => l.name === name); }
function durationS() { return S.manifest ? S.manifest.frames / S.manifest.sample_rate : 0; }

function audible(name) {
  const v = valuesOf(name);
  if (!v || v.mute) return false;
  return S.solo.size === 0 || S.solo.has(name);
}

// estimated mix loudness (layers are uncorrelated: powers add) of the layers the export would hold
function estimatedLufs(shifted) {
  let p = 0;
  for (const f of stems()) {
    const v = valuesOf(f.layer), was = S.rendered[f.layer];
    if (!v || v.mute || !was || !isFinite(f.integrated_lufs)) continue;
    const m = placement(was, v, layerInfo(f.layer)?.source_channels === 1, layerInfo(f.layer)?.kind === "events");
    const power = (m.LL * m.LL + m.LR * m.LR + m.RL * m.RL + m.RR * m.RR) / 2;
    p += Math.pow(10, (f.integrated_lufs + (shifted ? 10 * Math.log10(Math.max(power, 1e-12)) : 0)) / 10);
  }
  return p > 0 ? 10 * Math.log10(p) : -70;
}
function masterDb() {
  const target = S.values.target_lufs - S.manifest.target_lufs;
  return $("#match").checked ? target - (estimatedLufs(true) - estimatedLufs(false)) : target;
}

function buildGraph(ctx, destination) {
  const master = ctx.createGain(); master.connect(destination);
  const nodes = {};
  for (const f of stems()) {
    if (!S.buffers[f.layer]) continue;
    const split = ctx.createChannelSplitter(2), merge = ctx.createChannelMerger(2), on = ctx.createGain();
    const g = { LL: ctx.createGain(), RL: ctx.createGain(), LR: ctx.createGain(), RR: ctx.createGain() };
    split.connect(g.LL, 0); g.LL.connect(merge, 0, 0); split.connect(g.RL, 1); g.RL.connect(merge, 0, 0);
    split.connect(g.LR, 0); g.LR.connect(merge, 0, 1); split.connect(g.RR, 1); g.RR.connect(merge, 0, 1);
    merge.connect(on); on.connect(master);
    nodes[f.layer] = { split, g, on };
  }
  return { master, nodes };
}
function applyMix(graph, ctx, ramp = 0.03) {
  const t = ctx.currentTime;
  const set = (param, value) => (ramp && ctx instanceof AudioContext) ? param.setTargetAtTime(value, t, ramp) : (param.value = value);
  set(graph.master.gain, dbGain(masterDb()));
  const later = [];
  for (const [name, n] of Object.entries(graph.nodes)) {
    const v = valuesOf(name), info = layerInfo(name);
    const m = placement(S.rendered[name], v, info?.source_channels === 1, info?.kind === "events");
    for (const key of ["LL", "RL", "LR", "RR"]) set(n.g[key].gain, m[key]);
    set(n.on.gain, audible(name) ? 1 : 0);
    if (!m.exact) later.push(name);
  }
  return later;
}
function startSources(ctx, graph, loop, when = 0) {
  const started = [];
  for (const [name, n] of Object.entries(graph.nodes)) {
    const src = ctx.createBufferSource();
    src.buffer = S.buffers[name]; src.loop = loop; src.connect(n.split); src.start(when);
    started.push(src);
  }
  return started;
}

// Render the page's own graph offline (what the tests listen to): {left, right, rms_db}.
async function renderOffline(seconds) {
  const rate = S.manifest.sample_rate, frames = Math.round(seconds * rate);
  const ctx = new OfflineAudioContext(2, frames, rate);
  const graph = buildGraph(ctx, ctx.destination);
  applyMix(graph, ctx, 0);
  startSources(ctx, graph, true);
  const out = await ctx.startRendering();
  const left = out.getChannelData(0), right = out.getChannelData(1);
  let e = 0; for (let i = 0; i < frames; i++) e += left[i] * left[i] + right[i] * right[i];
  return { left: Array.from(left), right: Array.from(right), rms_db: 10 * Math.log10(e / (2 * frames) + 1e-30) };
}

// ---------------------------------------------------------------- playback
function ensureContext() {
  if (!S.ctx) S.ctx = new AudioContext({ sampleRate: S.manifest.sample_rate });
  return S.ctx;
}
async function loadExcerpt() {
  const dur = durationS(), rate = S.manifest.sample_rate;
  const whole = dur <= LIMITS.whole_s;
  const at = whole ? 0 : Math.min(Number($("#excerpt-at").value), Math.max(0, dur - LIMITS.excerpt_s));
  const len = whole ? dur : Math.min(LIMITS.excerpt_s, dur);
  const ctx = ensureContext(), buffers = {};
  await Promise.all(stems().map(async f => {
    const info = await wavInfo(`/files/${f.path}`);
    const data = await readFrames(info, Math.round(at * rate), Math.round(len * rate));
    buffers[f.layer] = toBuffer(ctx, data, rate);
  }));
  S.buffers = buffers; S.excerptAt = at; S.excerptLen = len;   // all at once: never half an excerpt
  $("#excerpt-note").textContent = whole ? "the whole render, looped sample-exactly"
    : `a ${LIMITS.excerpt_s} s excerpt, read with Range requests (looped for listening)`;
  drawTimeline();
}
function stop() {
  for (const s of S.sources) { try { s.stop(); } catch (e) { /* already stopped */ } }
  S.sources = []; S.playing = false; $("#play").textContent = "▶ Play";
}
async function play() {
  const ctx = ensureContext();
  await ctx.resume();
  stop();
  S.timerGain = ctx.createGain(); S.timerGain.connect(ctx.destination);
  S.graph = buildGraph(ctx, S.timerGain);
  showLater(applyMix(S.graph, ctx, 0));
  S.sources = startSources(ctx, S.graph, true);
  S.startedAt = ctx.currentTime; S.playing = true; $("#play").textContent = "■ Stop";
  scheduleTimer(false);
}
async function hearLoopPoint() {
  const ctx = ensureContext(), rate = S.manifest.sample_rate, total = S.manifest.frames, side = Math.round(LOOP_SIDE_S * rate);
  await ctx.resume(); stop();
  const saved = S.buffers; S.buffers = {};
  await Promise.all(stems().map(async f => {
    const info = await wavInfo(`/files/${f.path}`);
    const [tail, head] = await Promise.all([readFrames(info, total - side, side), readFrames(info, 0, side)]);
    S.buffers[f.layer] = toBuffer(ctx, tail.map((c, i) => { const x = new Float32Array(c.length + head[i].length); x.set(c); x.set(head[i], c.length); return x; }), rate);
  }));
  S.timerGain = ctx.createGain(); S.timerGain.connect(ctx.destination);
  const graph = buildGraph(ctx, S.timerGain); applyMix(graph, ctx, 0);
  S.sources = startSources(ctx, graph, false);
  S.buffers = saved; S.graph = null;
  $("#excerpt-note").textContent = `loop point: ${LOOP_SIDE_S} s before the end, then the start (at ${LOOP_SIDE_S}.0 s)`;
}
function scheduleTimer(preview) {
  if (!S.timerGain) return;
  const ctx = S.ctx, g = S.timerGain.gain, fade = Math.max(1, Number($("#timer-fade").value) || 30);
  const minutes = Number($("#timer-min").value) || 0;
  g.cancelScheduledValues(ctx.currentTime); g.setValueAtTime(1, ctx.currentTime);
  const end = preview ? ctx.currentTime + fade : minutes > 0 ? ctx.currentTime + minutes * 60 : null;
  if (end === null) return;
  g.setValueAtTime(1, Math.max(ctx.currentTime, end - fade)); g.linearRampToValueAtTime(0, end);
  setTimeout(() => { if (S.playing) stop(); }, (end - ctx.currentTime) * 1000 + 50);
}

// ---------------------------------------------------------------- editing
function getPath(obj, path) { return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj); }
function setPath(obj, path, value) {
  const keys = path.split("."); let o = obj;
  keys.slice(0, -1).forEach((k, i) => { if (o[k] == null) o[k] = /^\d+$/.test(keys[i + 1]) ? [] : {}; o = o[k]; });
  o[keys[keys.length - 1]] = value;
}
function editLayer(index, field, value) {
  for (const target of [S.values.layers[index], S.edit.layers[index]]) {
    if (field.startsWith("animate.")) {
      if (field === "animate.depth_db" && value <= 0) { target.animate = null; continue; }
      if (!target.animate) target.animate = { depth_db: 6, period: 300 };
    }
    if (field.startsWith("events.")) {
      if (!target.events) target.events = {};
      if (field.startsWith("events.wait")) {
        const [lo, hi] = layerWait(S.values.layers[index]);
        target.events.wait = [lo, hi]; delete target.events.per_minute;
      }
    }
    setPath(target, field, value);
    if (field.startsWith("events.wait")) {   // keep min <= max
      const w = target.events.wait;
      if (w[0] > w[1]) { if (field.endsWith(".0")) w[1] = w[0]; else w[0] = w[1]; }
    }
  }
}
function layerWait(v) {
  const e = v.events || {};
  if (e.wait) return [...e.wait];
  const mean = 60 / (e.per_minute || 1); return [0.5 * mean, 1.5 * mean];
}
function fieldValue(v, field) {
  if (field === "animate.depth_db") return v.animate ? v.animate.depth_db : 0;
  if (field === "animate.period") return v.animate ? v.animate.period : 300;
  if (field.startsWith("events.wait.")) return layerWait(v)[Number(field.slice(-1))];
  return getPath(v, field);
}
function fmt(field, x) {
  if (field === "pan") return x === 0 ? "C" : (x < 0 ? `L${Math.round(-x * 100)}` : `R${Math.round(x * 100)}`);
  return Number(x).toFixed(field.includes("period") || field.includes("wait") ? 0 : field === "width" || field.includes("jitter") && !field.includes("db") ? 2 : 1);
}

function buildStrips() {
  const box = $("#strips"); box.textContent = "";
  S.values.layers.forEach((v, index) => {
    const el = $("#strip").content.firstElementChild.cloneNode(true);
    const info = layerInfo(v.name);
    el.dataset.layer = v.name;
    el.classList.toggle("events", v.role === "events");
    $(".name", el).textContent = v.name;
    const kind = info ? info.kind : (v.mute ? "muted" : "not rendered");
    $(".kind", el).textContent = [v.source ? "recording" : "generated", kind, ...(kind === v.role ? [] : [v.role])].join(" · ");
    $(".what", el).textContent = v.source ? v.source.join(", ") : v.prompt;
    for (const input of el.querySelectorAll("input[data-field]")) {
      const field = input.dataset.field;
      input.value = fieldValue(v, field);
      input.nextElementSibling.textContent = fmt(field, Number(input.value));
      input.addEventListener("input", () => {
        editLayer(index, field, Number(input.value));
        input.nextElementSibling.textContent = fmt(field, Number(input.value));
        changed();
      });
    }
    const mute = $(".mute", el), solo = $(".solo", el);
    mute.setAttribute("aria-pressed", String(!!v.mute));
    mute.addEventListener("click", () => {
      const on = mute.getAttribute("aria-pressed") !== "true";
      mute.setAttribute("aria-pressed", String(on));
      S.values.layers[index].mute = on; S.edit.layers[index].mute = on; changed();
    });
    solo.addEventListener("click", () => {
      if (S.solo.has(v.name)) S.solo.delete(v.name); else S.solo.add(v.name);
      solo.setAttribute("aria-pressed", String(S.solo.has(v.name))); changed();
    });
    box.appendChild(el);
  });
}
function bindMaster() {
  for (const id of ["target_lufs", "true_peak_dbtp"]) {
    const input = $("#" + id);
    input.value = S.values[id]; input.nextElementSibling.textContent = Number(input.value).toFixed(1);
    input.oninput = () => {
      S.values[id] = Number(input.value); S.edit[id] = Number(input.value);
      input.nextElementSibling.textContent = Number(input.value).toFixed(1); changed();
    };
  }
}

// what the edits change that only an export lets you hear
function pending() {
  const out = [], r = S.state.rendered_scene;
  if (!r) return ["nothing is rendered yet"];
  const norm = x => JSON.stringify(x ?? null);
  S.values.layers.forEach(v => {
    const was = r.layers.find(l => l.name === v.name);
    if (!was) { out.push(`${v.name}: not in the render`); return; }
    if (norm(was.animate) !== norm(v.animate)) out.push(`${v.name}: animate`);
    if (norm(was.events) !== norm(v.events)) out.push(`${v.name}: events`);
    if (!!was.mute !== !!v.mute && !v.mute) out.push(`${v.name}: unmuted (not rendered)`);
  });
  if (S.values.true_peak_dbtp !== r.true_peak_dbtp) out.push("true-peak ceiling");
  return out;
}
function showLater(inexact) {
  document.querySelectorAll(".strip").forEach(el => {
    const name = el.dataset.layer, v = valuesOf(name), r = S.state.rendered_scene?.layers.find(l => l.name === name);
    el.classList.toggle("off", !audible(name));
    for (const label of el.querySelectorAll("label")) {
      const field = label.querySelector("input").dataset.field;
      const group = field.split(".")[0];
      const differs = r && JSON.stringify(fieldValue(v, field)) !== JSON.stringify(fieldValue(r, field));
      const later = differs && (group === "animate" || group === "events" || (inexact.includes(name) && (group === "pan" || group === "width")));
      label.classList.toggle("later", !!later);
    }
  });
  const list = pending();
  $("#pending").textContent = list.length ? `heard after Export: ${list.join(", ")}` : "";
}
let validateTimer = null;
function changed() {
  if (S.graph && S.ctx) showLater(applyMix(S.graph, S.ctx));
  else showLater(S.manifest ? Object.keys(S.rendered).filter(n => !placement(S.rendered[n], valuesOf(n) || S.rendered[n], layerInfo(n)?.source_channels === 1, layerInfo(n)?.kind === "events").exact) : []);
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validate, 250);
}

// ---------------------------------------------------------------- server calls
async function post(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Studio-Token": TOKEN }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({ error: `${res.status}` }));
  return { ok: res.ok, status: res.status, data };
}
function showError(text) { const e = $("#error"); e.textContent = text || ""; e.hidden = !text; }
async function validate() {
  const r = await post("/api/validate", { scene: S.edit });
  S.valid = r.ok; showError(r.ok ? "" : r.data.error);
  $("#export").disabled = $("#save").disabled = !r.ok || S.state.job.state === "running";
  return r.ok;
}
async function save(overwrite = false) {
  const r = await post("/api/save", { scene: S.edit, path: $("#save-path").value, overwrite });
  if (r.status === 409 && !overwrite && confirm(`${r.data.error}\n\nReplace it?`)) return save(true);
  showError(r.ok ? "" : r.data.error);
  if (r.ok) $("#job").textContent = `saved ${r.data.path}`;
}
async function exportRender() {
  if (!(await validate())) return;
  const r = await post("/api/export", { scene: S.edit });
  if (!r.ok) { showError(r.data.error); return; }
  watchJob();
}
function watchJob() {
  const bar = $("#progress"); bar.hidden = false; $("#export").disabled = true;
  clearInterval(S.polling);
  S.polling = setInterval(async () => {
    const job = await (await fetch("/api/job")).json();
    bar.value = job.fraction;
    const eta = job.eta_s != null ? `, about ${Math.ceil(job.eta_s)} s left` : "";
    $("#job").textContent = job.state === "running" ? `${job.stage}${job.layer ? " " + job.layer : ""} ${job.done}/${job.total} ${job.unit}${eta}` : "";
    if (job.state === "running") return;
    clearInterval(S.polling); bar.hidden = true; $("#export").disabled = false;
    if (job.state === "failed") { showError(`export failed: ${job.error}`); return; }
    if (job.state === "done") {
      const wasPlaying = S.playing; stop();
      await load(false);
      $("#job").textContent = `exported in ${job.elapsed_s} s, ${job.model_calls_run} model calls run`;
      if (wasPlaying) play();
    }
  }, 400);
}

// ---------------------------------------------------------------- display
function mmss(s) { s = Math.max(0, Math.round(s)); const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60; return (h ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(x).padStart(2, "0")}`; }
function drawTimeline() {
  const c = $("#timeline"), ctx = c.getContext("2d"), m = S.manifest;
  c.width = c.clientWidth * devicePixelRatio; const W = c.width, H = c.height;
  ctx.clearRect(0, 0, W, H);
  if (!m) return;
  const dur = durationS(), layers = m.layers || [], row = H / Math.max(1, layers.length);
  ctx.fillStyle = "rgba(111,195,160,0.12)";
  ctx.fillRect(S.excerptAt / dur * W, 0, Math.max(2, S.excerptLen / dur * W), H);
  layers.forEach((l, i) => {
    ctx.fillStyle = "#8ea39b"; ctx.font = `${10 * devicePixelRatio}px sans-serif`; ctx.fillText(l.name, 4, i * row + row * 0.7);
    const ranked = (l.seam_report || []).length ? l.seam_report : (l.seams_s || []).map(t => ({ time_s: t }));
    for (const s of ranked) {   // a pool's seams are listed without a rank: drawn grey
      ctx.fillStyle = s.rank === undefined ? "#5d6d67" : s.rank > 0.8 ? "#e0645b" : s.rank > 0.6 ? "#e3b35b" : "#6fc3a0";
      ctx.fillRect(s.time_s / dur * W - 1, i * row + 2, 2 * devicePixelRatio, row - 4);
    }
    for (const e of (l.events || [])) { ctx.fillStyle = "#c9d6d1"; ctx.fillRect(e.start_s / dur * W, i * row + row / 2 - 2, 3, 4); }
  });
  if (m.loop) { ctx.fillStyle = "#7fa7e8"; ctx.fillRect(0, 0, 3, H); ctx.fillRect(W - 3, 0, 3, H); }
  if (S.playing && S.ctx) {
    const t = S.excerptAt + ((S.ctx.currentTime - S.startedAt) % S.excerptLen);
    ctx.fillStyle = "#ffffff"; ctx.fillRect(t / dur * W, 0, 2, H);
    $("#clock").textContent = `${mmss(t)} / ${mmss(dur)}`;
  }
}
// a layer's level lane ([[t, dB or null], ...]) at time t: held between equal points, a raised-cosine glide between
// different ones (null is off: -60 dB inside a glide, nothing where held), as ambientgen.audio.timeline computes it
function laneDb(lane, t) {
  if (!lane || !lane.length) return 0;
  let i = 0;
  while (i < lane.length - 2 && lane[i + 1][0] <= t) i++;
  const [t0, v0] = lane[i], [t1, v1] = lane[Math.min(i + 1, lane.length - 1)];
  if (v0 === null && v1 === null) return null;
  const a = v0 === null ? -60 : v0, b = v1 === null ? -60 : v1;
  const x = t1 > t0 ? Math.min(1, Math.max(0, (t - t0) / (t1 - t0))) : 1;
  return a + (b - a) * (0.5 - 0.5 * Math.cos(Math.PI * x));
}
function drawLanes() {
  const m = S.manifest, tl = m?.timeline, section = $("#lanes-section");
  section.hidden = !tl;
  if (!tl) return;
  const c = $("#lanes"), ctx = c.getContext("2d"), names = (m.layers || []).map(l => l.name);
  c.height = Math.max(60, names.length * 34) * devicePixelRatio;
  c.width = c.clientWidth * devicePixelRatio; const W = c.width, H = c.height, dur = durationS();
  const row = H / Math.max(1, names.length);
  ctx.clearRect(0, 0, W, H);
  names.forEach((name, i) => {
    const lane = (tl.lanes[name] || {}).level, top = i * row + 4, h = row - 8;
    ctx.fillStyle = "#8ea39b"; ctx.font = `${10 * devicePixelRatio}px sans-serif`; ctx.fillText(name, 4, top + 10 * devicePixelRatio);
    ctx.strokeStyle = "#24313a"; ctx.beginPath(); ctx.moveTo(0, top + h * 0.2); ctx.lineTo(W, top + h * 0.2); ctx.stroke();
    ctx.fillStyle = "rgba(111,195,160,0.45)";
    for (let x = 0; x < W; x += 2) {
      const db = laneDb(lane, x / W * dur);
      if (db === null) continue;
      const y = top + h * 0.2 + (Math.min(0, db) / -40) * h * 0.8 - (Math.max(0, db) / 12) * h * 0.2;
      ctx.fillRect(x, Math.max(top, y), 2, top + h - Math.max(top, y));
    }
  });
  ctx.fillStyle = "#e3b35b";
  for (const mo of tl.moments) ctx.fillRect(mo.at_s / dur * W, 0, 2, H);
  if (S.playing && S.ctx) {
    const t = S.excerptAt + ((S.ctx.currentTime - S.startedAt) % S.excerptLen);
    ctx.fillStyle = "#ffffff"; ctx.fillRect(t / dur * W, 0, 2, H);
  }
  $("#moments").textContent = tl.moments.filter(mo => mo.note).map(mo => `${mmss(mo.at_s)} ${mo.note}`).join(" · ");
}
function tick() { if (S.playing) { drawTimeline(); drawLanes(); } requestAnimationFrame(tick); }

function showRender() {
  const m = S.manifest, report = S.state.report;
  $("#scene-name").textContent = S.values.name;
  $("#scene-description").textContent = S.values.description || "";
  if (!m) { $("#render-status").textContent = "no render yet"; return; }
  $("#render-status").textContent = `${mmss(durationS())} · ${m.sample_rate} Hz · ${m.integrated_lufs} LUFS · ${m.true_peak_exact ? "" : "≤ "}${m.measured_true_peak_dbtp} dBTP\n${m.backend?.name || m.backend_choice?.backend || ""} · ${S.state.output}`;
  const v = $("#verdict"); v.textContent = "";
  if (report) {
    const b = document.createElement("span"); b.className = report.passed ? "pass" : "fail";
    b.textContent = report.passed ? "PASS" : "FAIL"; v.appendChild(b);
    v.append(report.failures.length ? ` — ${report.failures.join("; ")}` : " — loudness, peaks, seams, loop point and repetition within the scene's targets");
    const img = $("#check-picture"); img.src = `/files/${m.name}.check.png?${Date.now()}`; img.hidden = false;
  }
  const ul = $("#files"); ul.textContent = "";
  const names = (m.files || []).map(f => f.path).concat(["manifest.json"], report ? [`${m.name}.check.json`, `${m.name}.check.png`] : []);
  for (const p of names) {
    const li = document.createElement("li"), a = document.createElement("a");
    a.href = `/files/${p}`; a.download = p.split("/").pop(); a.textContent = p; li.appendChild(a); ul.appendChild(li);
  }
  drawLanes();
  const at = $("#excerpt-at"), dur = durationS();
  at.max = Math.max(0, Math.floor(dur - LIMITS.excerpt_s)); at.disabled = dur <= LIMITS.whole_s;
  $("#excerpt-at-out").textContent = mmss(Number(at.value));
}

async function load(first = true) {
  S.state = await (await fetch("/api/state")).json();
  S.manifest = S.state.manifest;
  S.edit = JSON.parse(JSON.stringify(S.state.scene));
  S.values = JSON.parse(JSON.stringify(S.state.values));
  if (first) $("#save-path").value = S.state.scene_path;
  S.rendered = {};
  for (const l of S.manifest?.layers || []) S.rendered[l.name] = { gain_db: l.gain_db, pan: l.pan, width: l.width };
  Object.keys(wavInfos).forEach(k => delete wavInfos[k]);
  S.buffers = {};
  showRender(); bindMaster(); buildStrips();
  const ready = !!S.manifest && stems().length > 0;
  for (const id of ["#play", "#loop-point", "#timer-preview"]) $(id).disabled = !ready;
  if (S.manifest && !stems().length) showError("this render has no stems: the sliders are heard after Export");
  if (ready) await (S.loading = loadExcerpt());
  changed();
  if (S.state.job.state === "running") watchJob();
  document.body.dataset.ready = ready ? "yes" : "no";
}

$("#play").addEventListener("click", () => (S.playing ? stop() : play()));
$("#loop-point").addEventListener("click", hearLoopPoint);
$("#timer-preview").addEventListener("click", async () => { if (!S.playing) await play(); scheduleTimer(true); });
$("#timer-min").addEventListener("change", () => scheduleTimer(false));
$("#match").addEventListener("change", changed);
$("#save").addEventListener("click", () => save(false));
$("#export").addEventListener("click", exportRender);
$("#excerpt-at").addEventListener("input", () => { $("#excerpt-at-out").textContent = mmss(Number($("#excerpt-at").value)); });
$("#excerpt-at").addEventListener("change", () => {
  S.loading = (async () => { const was = S.playing; stop(); await loadExcerpt(); if (was) await play(); })();
});
window.addEventListener("resize", () => { drawTimeline(); drawLanes(); });
window.studio = { state: () => S, limits: LIMITS, showRender, placement, renderOffline, loadExcerpt, load, estimatedLufs, masterDb, laneDb };
requestAnimationFrame(tick);
load().catch(e => showError(`could not load the studio: ${e.message}`));

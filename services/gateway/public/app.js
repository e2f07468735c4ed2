// The live levels dashboard: one WebSocket to /ws/levels, §6.4 payloads in, DOM updated in place keyed by level id
// (no re-rendering of whole tables, so nothing flickers), at most once per animation frame. Plain modern JS, served
// as is: no build step, no dependencies.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (x, d) => (x === null || x === undefined || Number.isNaN(x) ? '—' : Number(x).toFixed(d));
  const compact = (x) => {
    if (x === null || x === undefined) return '—';
    const a = Math.abs(x);
    if (a >= 1e9) return (x / 1e9).toFixed(2) + 'B';
    if (a >= 1e6) return (x / 1e6).toFixed(2) + 'M';
    if (a >= 1e3) return (x / 1e3).toFixed(1) + 'k';
    return String(Math.round(x));
  };
  const signed = (x, d) => (x > 0 ? '+' : '') + fmt(x, d);
  const timeOf = (ms) => new Date(ms).toISOString().slice(11, 23);
  const TRIGGERS = new Set(['BREAK', 'REJECT', 'CONTESTED']);
  /** A level that left the monitoring band stays (dimmed) this long in event time, so edge levels do not blink. */
  const GONE_GRACE_MS = 3000;
  const STRIP_LEVELS = 5;
  const LOG_MAX = 60;
  /** BREAK/REJECT fire on a tick and rarely hold for long; the highlight stays this long (event time) so it is seen. */
  const TRIGGER_HOLD_MS = 5000;
  const lastTrigger = new Map(); // `${underlying}|${id}` -> { signal, ts }

  const params = new URLSearchParams(location.search);
  let selected = params.get('underlying');
  const latest = new Map(); // underlying -> payload
  const rows = new Map(); // level id -> { tr, cells, lastSeenTs, level }
  const lastSignal = new Map(); // `${underlying}|${id}` -> signal
  let dirty = false;

  // ---- connection, with capped exponential backoff and jitter ------------------------------------------------------
  const conn = $('conn');
  const setConn = (state, text) => {
    conn.className = `conn conn-${state}`;
    conn.textContent = text;
    document.body.dataset.conn = state;
  };
  let backoff = 500;
  let retryTimer = null;
  let countdown = null;

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const qs = new URLSearchParams();
    if (selected && params.get('underlying')) qs.set('underlying', selected);
    // A gateway with gateway.token: open the dashboard as /?token=… and the WebSocket presents it (browsers cannot set headers).
    if (params.get('token')) qs.set('token', params.get('token'));
    const q = qs.toString() ? `?${qs}` : '';
    const ws = new WebSocket(`${proto}//${location.host}/ws/levels${q}`);
    setConn('connecting', 'connecting');
    ws.onopen = () => {
      backoff = 500;
      setConn('live', 'live');
    };
    ws.onmessage = (ev) => {
      let p;
      try {
        p = JSON.parse(ev.data);
      } catch (e) {
        console.error('bad payload', e);
        return;
      }
      if (!p || typeof p.underlying !== 'string' || !Array.isArray(p.levels)) return;
      onPayload(p);
    };
    ws.onclose = () => scheduleReconnect();
    ws.onerror = () => ws.close();
  }

  function scheduleReconnect() {
    if (retryTimer) return;
    const wait = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(backoff * 2, 10_000);
    const until = Date.now() + wait;
    const tick = () => setConn('down', `reconnecting in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))}s`);
    tick();
    countdown = setInterval(tick, 250);
    retryTimer = setTimeout(() => {
      clearInterval(countdown);
      retryTimer = null;
      connect();
    }, wait);
  }

  // ---- model ----------------------------------------------------------------------------------------------------
  const underlyingSel = $('underlying');
  underlyingSel.onchange = () => {
    selected = underlyingSel.value;
    for (const r of rows.values()) r.tr.remove();
    rows.clear();
    dirty = true;
    schedule();
  };

  function onPayload(p) {
    if (!latest.has(p.underlying)) {
      const o = el('option', '', p.underlying);
      o.value = p.underlying;
      underlyingSel.appendChild(o);
    }
    latest.set(p.underlying, p);
    if (!selected) selected = p.underlying;
    if (underlyingSel.value !== selected) underlyingSel.value = selected;
    logChanges(p);
    if (p.underlying === selected) {
      dirty = true;
      schedule();
    }
  }

  function logChanges(p) {
    for (const l of p.levels) {
      const key = `${p.underlying}|${l.id}`;
      const prev = lastSignal.get(key);
      lastSignal.set(key, l.signal);
      if (l.signal === 'BREAK' || l.signal === 'REJECT') lastTrigger.set(key, { signal: l.signal, ts: p.ts });
      if (prev === undefined ? !TRIGGERS.has(l.signal) : prev === l.signal) continue;
      const li = el('li');
      li.appendChild(el('time', '', timeOf(p.ts)));
      li.appendChild(el('span', '', `${p.underlying} ${l.id} @ ${fmt(l.price, 2)} `));
      if (prev !== undefined) li.appendChild(el('span', `badge badge-${prev}`, prev));
      if (prev !== undefined) li.appendChild(el('span', 'muted', ' → '));
      li.appendChild(el('span', `badge badge-${l.signal}`, l.signal));
      li.appendChild(el('span', 'muted', `  score ${fmt(l.break_score_smooth, 1)} · ${l.confidence} · ${l.note}`));
      const log = $('log');
      log.insertBefore(li, log.firstChild);
      while (log.children.length > LOG_MAX) log.removeChild(log.lastChild);
    }
  }

  let frame = 0;
  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (dirty) render();
    });
  }

  // ---- view -----------------------------------------------------------------------------------------------------
  function makeRow(id) {
    const tr = el('tr');
    tr.dataset.levelId = id;
    const c = {};
    const td = (cls) => {
      const t = el('td', cls);
      tr.appendChild(t);
      return t;
    };
    const lvl = td();
    c.id = lvl.appendChild(el('span', 'lvl-id', id));
    c.kind = lvl.appendChild(el('span', 'lvl-kind'));
    c.price = td('num');
    c.dist = td('num');
    const score = td().appendChild(el('div', 'score'));
    const bar = score.appendChild(el('div', 'bar'));
    c.fill = bar.appendChild(el('div', 'bar-fill'));
    c.rawMark = bar.appendChild(el('div', 'bar-raw'));
    c.scoreTxt = score.appendChild(el('span', 'score-txt'));
    c.smooth = c.scoreTxt.appendChild(el('strong', 'score-smooth'));
    c.raw = c.scoreTxt.appendChild(el('span', 'muted score-raw'));
    const sig = td();
    c.badge = sig.appendChild(el('span', 'badge'));
    c.conf = sig.appendChild(el('span', 'conf'));
    c.held = sig.appendChild(el('div', 'held'));
    const barrier = td();
    c.bState = barrier.appendChild(el('div'));
    c.bSub = barrier.appendChild(el('div', 'sub'));
    const fuel = td();
    c.fEffect = fuel.appendChild(el('div'));
    c.fSub = fuel.appendChild(el('div', 'sub'));
    const tape = td();
    c.tVel = tape.appendChild(el('div'));
    c.tSub = tape.appendChild(el('div', 'sub'));
    c.sweep = tape.appendChild(el('span', 'sweep'));
    const run = td();
    c.rMain = run.appendChild(el('div'));
    c.rSub = run.appendChild(el('div', 'sub'));
    return { tr, cells: c, lastSeenTs: 0, level: null };
  }

  /** Writes only what changed, so unchanged text nodes are left alone. */
  const setText = (node, text) => {
    if (node.textContent !== text) node.textContent = text;
  };
  const setClass = (node, cls) => {
    if (node.className !== cls) node.className = cls;
  };

  /** The BREAK/REJECT to highlight for a level at tick `ts`: the current one, or one fired within TRIGGER_HOLD_MS. */
  function heldTrigger(id, ts) {
    const t = lastTrigger.get(`${selected}|${id}`);
    return t && ts - t.ts <= TRIGGER_HOLD_MS ? { signal: t.signal, ageMs: ts - t.ts } : null;
  }

  function updateRow(r, l, gone, ts) {
    const c = r.cells;
    r.level = l;
    const held = heldTrigger(l.id, ts);
    const trig = held ? held.signal : l.signal === 'CONTESTED' ? 'CONTESTED' : '';
    setClass(r.tr, `${gone ? 'gone ' : ''}${trig ? `trig-${trig}` : ''}`.trim());
    setText(c.held, held && held.ageMs > 0 ? `${held.signal} ${(held.ageMs / 1000).toFixed(1)}s ago` : '');
    setClass(c.held, held && held.ageMs > 0 ? `held held-${held.signal}` : 'held');
    r.tr.dataset.signal = l.signal;
    // The id often is the kind (VWAP, SESSION_LOW); say the kind only when it adds something.
    setText(c.kind, `${l.kind === l.id ? '' : `${l.kind} · `}${l.direction.toLowerCase()}`);
    setClass(c.kind, `lvl-kind dir-${l.direction}`);
    setText(c.price, fmt(l.price, 2));
    setText(c.dist, fmt(l.distance, 3));
    const s = Math.max(0, Math.min(100, l.break_score_smooth));
    c.fill.style.width = `${s}%`;
    c.rawMark.style.left = `calc(${Math.max(0, Math.min(100, l.break_score_raw))}% - 1px)`;
    setText(c.smooth, fmt(l.break_score_smooth, 1));
    setText(c.raw, ` / ${fmt(l.break_score_raw, 1)}`);
    setText(c.badge, l.signal);
    setClass(c.badge, `badge badge-${l.signal}`);
    setText(c.conf, l.confidence);
    setText(c.bState, l.barrier.state);
    setClass(c.bState, `st-${l.barrier.state}`);
    setText(c.bSub, `Δliq ${signed(l.barrier.delta_liq, 0)} · repl ${fmt(l.barrier.replenishment_ratio, 2)}`);
    setText(c.fEffect, l.fuel.effect);
    setClass(c.fEffect, `fx-${l.fuel.effect}`);
    setText(c.fSub, `γ ${compact(l.fuel.net_dealer_gamma)}${l.fuel.hvl !== null ? ` · hvl ${fmt(l.fuel.hvl, 2)}` : ''}`);
    setText(c.tVel, signed(l.tape.velocity, 4));
    const sw = l.tape.sweep;
    c.sweep.hidden = !sw.detected;
    setText(c.sweep, sw.detected ? `SWEEP ${sw.direction ?? ''} ${compact(sw.notional)}` : '');
    setText(c.tSub, `imb ${signed(l.tape.imbalance, 2)} · ${compact(l.tape.buy_vol)}/${compact(l.tape.sell_vol)}`);
    const rw = l.runway;
    setText(c.rMain, `${rw.direction === 'UP' ? '▲' : '▼'} ${rw.next_obstacle ? `${rw.next_obstacle.id} @ ${fmt(rw.next_obstacle.price, 2)}` : 'open'}`);
    setText(c.rSub, `${rw.distance === null ? '—' : fmt(rw.distance, 2)} · ${rw.quality}`);
    setClass(c.rSub, `sub q-${rw.quality}`);
    r.tr.title = l.note;
  }

  function render() {
    dirty = false;
    const p = latest.get(selected);
    if (!p) return;
    setText($('spot'), fmt(p.spy.spot, 3));
    setText($('bid'), fmt(p.spy.bid, 2));
    setText($('ask'), fmt(p.spy.ask, 2));
    setText($('tick'), timeOf(p.ts));
    // The tick on screen, machine-readable (the browser test lines the page up with its own WS feed by it).
    document.body.dataset.ts = String(p.ts);
    document.title = `${p.underlying} ${fmt(p.spy.spot, 2)} · snap-engine`;

    const present = new Set();
    for (const l of p.levels) {
      present.add(l.id);
      let r = rows.get(l.id);
      if (!r) {
        r = makeRow(l.id);
        rows.set(l.id, r);
      }
      r.lastSeenTs = p.ts;
      updateRow(r, l, false, p.ts);
    }
    for (const [id, r] of rows) {
      if (present.has(id)) continue;
      if (p.ts - r.lastSeenTs > GONE_GRACE_MS) {
        r.tr.remove();
        rows.delete(id);
      } else {
        // Distance of a departed level from the current spot, so it sorts where it now is.
        updateRow(r, { ...r.level, distance: Math.abs(p.spy.spot - r.level.price) }, true, p.ts);
      }
    }
    // Reorder by |distance| only when the order changed: moving DOM nodes needlessly is what makes tables flicker.
    const order = [...rows.values()].sort((a, b) => Math.abs(a.level.distance) - Math.abs(b.level.distance) || a.level.price - b.level.price);
    const body = $('level-rows');
    const current = [...body.children];
    if (order.length !== current.length || order.some((r, i) => r.tr !== current[i])) for (const r of order) body.appendChild(r.tr);
    $('empty').hidden = rows.size > 0;
    renderStrip(p);
  }

  const rungs = new Map(); // id -> element
  let spotLine = null;
  function renderStrip(p) {
    const strip = $('strip');
    const near = [...p.levels].sort((a, b) => Math.abs(a.distance) - Math.abs(b.distance)).slice(0, STRIP_LEVELS);
    const prices = near.map((l) => l.price).concat([p.spy.spot]);
    let lo = Math.min(...prices);
    let hi = Math.max(...prices);
    // Never zoom in below 20 cents of range: a ladder that rescales on every cent of spot is itself a flicker.
    const pad = Math.max(0.1, (hi - lo) * 0.15);
    const mid = (hi + lo) / 2;
    lo = Math.min(lo - pad, mid - 0.1);
    hi = Math.max(hi + pad, mid + 0.1);
    const h = strip.clientHeight || 420;
    const y = (px) => Math.round(((hi - px) / (hi - lo)) * (h - 24)) + 18;
    const keep = new Set();
    for (const l of near) {
      keep.add(l.id);
      let r = rungs.get(l.id);
      if (!r) {
        r = el('div', 'rung');
        r.dataset.levelId = l.id;
        const label = r.appendChild(el('span', 'rung-label'));
        label.appendChild(el('span', 'rung-name'));
        label.appendChild(el('span', 'rung-score'));
        strip.appendChild(r);
        rungs.set(l.id, r);
      }
      const held = heldTrigger(l.id, p.ts);
      setClass(r, `rung sig-${held ? held.signal : l.signal}${held ? ' trig' : ''}`);
      r.style.top = `${y(l.price)}px`;
      setText(r.firstChild.firstChild, `${l.id} ${fmt(l.price, 2)}`);
      setText(r.firstChild.lastChild, `${fmt(l.break_score_smooth, 0)}${l.signal === 'NEUTRAL' ? '' : ` ${l.signal}`}`);
    }
    for (const [id, r] of rungs) {
      if (!keep.has(id)) {
        r.remove();
        rungs.delete(id);
      }
    }
    if (!spotLine) {
      spotLine = el('div', 'spot-line');
      spotLine.appendChild(el('span'));
      strip.appendChild(spotLine);
    }
    spotLine.style.top = `${y(p.spy.spot)}px`;
    setText(spotLine.firstChild, `spot ${fmt(p.spy.spot, 2)}`);
  }

  connect();
})();

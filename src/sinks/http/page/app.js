// The live page: the initial state from /api/records, then every new record from /events (SSE). Records are
// applied in batches, one per animation frame, and each touches only its own item's elements: nothing is ever
// re-rendered whole. No framework, no external resource; DOM nodes are built with textContent (never innerHTML).
'use strict';
(() => {
  /** Items kept on the page; the oldest are dropped beyond this. */
  const MAX_ITEMS = 300;
  /** Record ids remembered for de-duplication (replays after a reconnect repeat some). */
  const MAX_SEEN = 50000;
  const STATUS_TEXT = { completed: 'completed', failed: 'failed', canceled: 'canceled', in_progress: 'in progress' };

  const $ = (id) => document.getElementById(id);
  const list = $('items');
  const notice = $('notice');
  const announcer = $('announce');
  const conn = $('conn');
  const count = $('count');
  const filter = { server: $('f-server'), status: $('f-status'), board: $('f-board') };
  const viewer = { dialog: $('viewer'), img: $('viewer-img'), title: $('viewer-title'), open: $('viewer-open'), close: $('viewer-close') };

  /** item key → view; in page order only through the DOM (newest first). */
  const views = new Map();
  const viewOf = new WeakMap();
  const seen = new Set();
  /** board key → name, once the daemon said it; board keys asked for. */
  const boardNames = new Map();
  const boardAsked = new Set();
  let pending = [];
  let scheduled = false;
  let live = false;
  let lastId = '';
  let opener = null;
  let serial = 0;

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const itemKey = (r) => `${r.server}\n${r.queue_id}\n${r.item_id}`;
  const boardKey = (server, boardId) => `${encodeURIComponent(server)}/${encodeURIComponent(boardId)}`;
  const hostOf = (url) => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  };
  const shortId = (id) => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

  // ---- rendering ------------------------------------------------------------------------------------------------

  function createView(r, key) {
    const li = el('li', 'item');
    li.dataset.itemId = String(r.item_id);
    li.dataset.server = r.server;
    li.dataset.queueId = r.queue_id;
    li.dataset.status = 'in_progress';
    li.dataset.complete = 'false';
    const h = el('h2');
    h.id = `item-${++serial}`;
    li.setAttribute('aria-labelledby', h.id);
    const badge = el('span', 'badge s-in_progress', STATUS_TEXT.in_progress);
    const flag = el('span', 'badge incomplete', 'incomplete');
    flag.hidden = true;
    flag.title = 'The daemon could not confirm every output of this item';
    h.append(el('span', 'title', `Item ${r.item_id}`), badge, flag);
    const time = el('time');
    const images = el('span', 'nimg', 'no images yet');
    const meta = el('p', 'meta');
    meta.append(`${hostOf(r.server)} · queue ${r.queue_id} · `, time, ' · ', images);
    const error = el('p', 'error');
    error.hidden = true;
    const missing = el('p', 'missing');
    missing.hidden = true;
    const nodes = el('div', 'nodes');
    li.append(h, meta, error, nodes, missing);
    const view = { key, li, badge, flag, time, images, error, missing, nodes, nodeViews: new Map(), names: new Set(), boards: new Set(), server: r.server, status: 'in_progress', complete: false };
    viewOf.set(li, view);
    addOption(filter.server, r.server, hostOf(r.server));
    return view;
  }

  function stamp(view, ts) {
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return;
    view.time.dateTime = d.toISOString();
    view.time.textContent = d.toLocaleTimeString();
  }

  function nodeView(view, r) {
    const nodeId = r.node_id ?? '(unknown node)';
    let nv = view.nodeViews.get(nodeId);
    if (nv) return nv;
    const section = el('section', 'node');
    const h = el('h3');
    const board = boardLabel(r.server, r.board_id);
    h.append('node ', el('code', '', nodeId), r.node_type ? ` (${r.node_type})` : '', ' → board ', board);
    const thumbs = el('ul', 'thumbs');
    section.append(h, thumbs);
    view.nodes.append(section);
    nv = { section, thumbs };
    view.nodeViews.set(nodeId, nv);
    return nv;
  }

  function applyImage(view, r) {
    if (view.names.has(r.image_name)) return;
    view.names.add(r.image_name);
    noteBoard(view, r.server, r.board_id);
    const nv = nodeView(view, r);
    const a = el('a', 'thumb');
    a.href = `/images/${encodeURIComponent(r.record_id)}/full`;
    a.dataset.recordId = r.record_id;
    const img = el('img');
    // `loading` before `src`, or the browser starts fetching at once.
    img.loading = 'lazy';
    img.decoding = 'async';
    img.dataset.imageName = r.image_name;
    img.alt = `${r.image_name} — node ${r.node_id ?? 'unknown'}`;
    img.src = `/images/${encodeURIComponent(r.record_id)}/thumbnail`;
    a.append(img);
    if (r.cached) a.append(el('span', 'tag', 'cached'));
    const li = el('li');
    li.append(a);
    nv.thumbs.append(li);
    const n = view.names.size;
    view.images.textContent = `${n} image${n === 1 ? '' : 's'}`;
    stamp(view, r.ts);
  }

  function applyItem(view, r) {
    view.status = r.status;
    view.complete = r.complete === true;
    view.li.dataset.status = r.status;
    view.li.dataset.complete = String(view.complete);
    view.badge.className = `badge s-${r.status}`;
    view.badge.textContent = STATUS_TEXT[r.status] ?? r.status;
    view.flag.hidden = view.complete;
    if (r.error_type || r.error_message) {
      view.error.textContent = [r.error_type, r.error_message].filter(Boolean).join(': ').slice(0, 600);
      view.error.hidden = false;
    }
    let unseen = 0;
    for (const n of Object.values(r.nodes ?? {})) {
      noteBoard(view, r.server, n.board_id);
      for (const name of n.image_names ?? []) if (!view.names.has(name)) unseen += 1;
    }
    // Image records older than what the daemon still holds cannot be shown (the proxy serves known records only).
    view.missing.hidden = unseen === 0;
    view.missing.textContent = `${unseen} more image${unseen === 1 ? '' : 's'} not shown: reported before this page or the daemon's memory`;
    if (view.names.size === 0) view.images.textContent = 'no images';
    stamp(view, r.ts);
  }

  // ---- boards -----------------------------------------------------------------------------------------------------

  function boardLabel(server, boardId) {
    const key = boardKey(server, boardId);
    const span = el('span', 'board', boardNames.get(key) ?? shortId(boardId));
    span.dataset.boardKey = key;
    span.dataset.boardId = boardId;
    askBoard(server, boardId, key);
    return span;
  }

  function noteBoard(view, server, boardId) {
    if (typeof boardId !== 'string') return;
    const key = boardKey(server, boardId);
    view.boards.add(key);
    addOption(filter.board, key, boardNames.get(key) ?? shortId(boardId));
    askBoard(server, boardId, key);
  }

  function askBoard(server, boardId, key) {
    if (boardAsked.has(key)) return;
    boardAsked.add(key);
    const q = `server=${encodeURIComponent(server)}&board_id=${encodeURIComponent(boardId)}`;
    fetch(`/api/boards?${q}`, { credentials: 'same-origin' })
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(String(res.status)))))
      .then((b) => {
        if (typeof b.name === 'string') nameBoard(key, b.name);
      })
      // Asked again by the next record that names the board.
      .catch(() => boardAsked.delete(key));
  }

  function nameBoard(key, name) {
    boardNames.set(key, name);
    for (const span of list.querySelectorAll(`.board[data-board-key="${CSS.escape(key)}"]`)) span.textContent = name;
    const opt = optionOf(filter.board, key);
    if (opt) opt.textContent = name;
  }

  // ---- filters ------------------------------------------------------------------------------------------------------

  function optionOf(select, value) {
    for (const o of select.options) if (o.value === value) return o;
    return null;
  }

  function addOption(select, value, label) {
    if (optionOf(select, value)) return;
    select.append(new Option(label, value));
  }

  function matches(view) {
    const server = filter.server.value;
    const status = filter.status.value;
    const board = filter.board.value;
    if (server && view.server !== server) return false;
    if (board && !view.boards.has(board)) return false;
    if (status === 'incomplete') return !view.complete && view.status !== 'in_progress';
    return !status || view.status === status;
  }

  function refilter(only) {
    for (const view of only ?? views.values()) view.li.hidden = !matches(view);
    let shown = 0;
    for (const view of views.values()) if (!view.li.hidden) shown += 1;
    count.value = views.size === shown ? `${shown} run${shown === 1 ? '' : 's'}` : `${shown} of ${views.size} runs shown`;
    notice.hidden = views.size > 0;
  }

  for (const select of Object.values(filter)) select.addEventListener('change', () => refilter());

  // ---- records in -----------------------------------------------------------------------------------------------

  function remember(id) {
    seen.add(id);
    if (seen.size > MAX_SEEN) seen.delete(seen.values().next().value);
  }

  function take(records) {
    for (const r of records) pending.push(r);
    if (scheduled) return;
    scheduled = true;
    // A hidden tab gets no animation frames: batch on a timer there.
    if (document.hidden) setTimeout(flush, 250);
    else requestAnimationFrame(flush);
  }

  function flush() {
    scheduled = false;
    const batch = pending;
    pending = [];
    const fresh = [];
    const touched = new Set();
    const finished = [];
    for (const r of batch) {
      if (!r || typeof r.record_id !== 'string' || seen.has(r.record_id)) continue;
      remember(r.record_id);
      lastId = r.record_id;
      const key = itemKey(r);
      let view = views.get(key);
      if (!view) {
        view = createView(r, key);
        views.set(key, view);
        fresh.push(view);
      }
      if (r.type === 'image') applyImage(view, r);
      else if (r.type === 'item') {
        applyItem(view, r);
        if (live) finished.push(r);
      }
      touched.add(view);
    }
    if (fresh.length) {
      const frag = document.createDocumentFragment();
      for (let i = fresh.length - 1; i >= 0; i--) frag.append(fresh[i].li);
      list.prepend(frag);
      trim();
    }
    refilter(touched);
    if (finished.length) announce(finished);
  }

  function trim() {
    while (views.size > MAX_ITEMS && list.lastElementChild) {
      const view = viewOf.get(list.lastElementChild);
      list.lastElementChild.remove();
      if (view) views.delete(view.key);
    }
  }

  function announce(items) {
    if (items.length === 1) {
      const r = items[0];
      const n = Object.values(r.nodes ?? {}).reduce((s, node) => s + (node.image_names ?? []).length, 0);
      const tail = r.status === 'failed' ? `: ${r.error_type ?? 'error'}` : `, ${n} image${n === 1 ? '' : 's'}`;
      announcer.textContent = `Item ${r.item_id} ${STATUS_TEXT[r.status] ?? r.status}${r.complete ? '' : ' (incomplete)'}${tail}`;
      return;
    }
    const by = {};
    for (const r of items) by[r.status] = (by[r.status] ?? 0) + 1;
    announcer.textContent = `${items.length} runs finished: ${Object.entries(by).map(([s, n]) => `${n} ${STATUS_TEXT[s] ?? s}`).join(', ')}`;
  }

  function setConn(state, text) {
    conn.dataset.state = state;
    conn.textContent = text;
  }

  function connect() {
    // Replays what followed the last record of the initial state (all that is held when there was none); on its
    // own reconnects the browser sends Last-Event-ID, which the daemon prefers.
    const events = new EventSource(`/events?since=${encodeURIComponent(lastId)}`);
    events.onopen = () => setConn('live', 'live');
    events.onerror = () => {
      if (events.readyState === EventSource.CLOSED) setConn('down', 'disconnected: reload the page');
      else setConn('connecting', 'reconnecting…');
    };
    const onRecord = (e) => {
      try {
        take([JSON.parse(e.data)]);
      } catch {
        /* not a record: ignored */
      }
    };
    events.addEventListener('image', onRecord);
    events.addEventListener('item', onRecord);
  }

  async function start() {
    try {
      const res = await fetch('/api/records?limit=5000', { credentials: 'same-origin' });
      if (res.status === 401) {
        setConn('down', 'not authorised');
        notice.textContent = 'This daemon needs its token: open this page once as /?token=<token>.';
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      take(await res.json());
      flush();
    } catch (err) {
      setConn('down', 'cannot load records');
      notice.textContent = `Cannot load the records (${err.message}); new runs will still appear.`;
    }
    live = true;
    connect();
  }

  // ---- the image viewer -------------------------------------------------------------------------------------------

  list.addEventListener('click', (e) => {
    const a = e.target.closest('a.thumb');
    // Modified clicks keep their usual meaning (a new tab, a download).
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    const img = a.querySelector('img');
    const section = a.closest('.node');
    const board = section ? section.querySelector('.board') : null;
    opener = a;
    viewer.img.src = a.href;
    viewer.img.alt = img ? img.alt : '';
    viewer.title.textContent = `${img ? img.alt : ''}${board ? ` — board ${board.textContent}` : ''}`;
    viewer.open.href = a.href;
    viewer.dialog.showModal();
    viewer.close.focus();
  });
  viewer.close.addEventListener('click', () => viewer.dialog.close());
  // A click on the backdrop (the dialog itself, outside its content) closes it too.
  viewer.dialog.addEventListener('click', (e) => {
    if (e.target === viewer.dialog) viewer.dialog.close();
  });
  viewer.dialog.addEventListener('close', () => {
    viewer.img.removeAttribute('src');
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });

  void start();
})();

// peapod ui, in the browser: plain JavaScript, nothing to build. Every URL
// is relative, so each carries the token that is the page's first path
// segment. Text from the server always goes in through textContent; the
// figure is SVG from peapod's own renderer, which escapes every label.
'use strict';

const KINDS = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup', 'user', 'time'];
const MAX_LOG_LINES = 1000;
const $ = (id) => document.getElementById(id);

const state = {
  pods: [],
  selected: decodeURIComponent(location.hash.slice(1)) || null,
  figure: '',
  process: null, // { pid, container }
  explained: new Map(), // pod name -> [{ name, role, text }]
  logs: null, // EventSource
};

function api(path) {
  return `api/pods/${encodeURIComponent(state.selected)}/${path}`;
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

// ------------------------------------------------------------ the pod list

function summary(pod) {
  const apps = pod.containers.filter((c) => !c.init);
  const running = apps.filter((c) => c.state === 'running').length;
  const restarts = pod.containers.reduce((n, c) => n + c.restartCount, 0);
  const parts = [`${running}/${apps.length} running`];
  if (restarts > 0) parts.push(`${restarts} restart${restarts === 1 ? '' : 's'}`);
  if (pod.deleting) parts.push('terminating');
  if (!pod.live) parts.push('supervisor gone');
  if (pod.podIP) parts.push(pod.podIP);
  return parts.join(' · ');
}

function renderPods() {
  const list = $('pods');
  list.replaceChildren(
    ...state.pods.map((pod) => {
      const li = el(
        'li',
        { className: pod.name === state.selected ? 'selected' : '' },
        el('span', { className: `phase ${pod.phase}`, textContent: pod.reason ? `${pod.phase}: ${pod.reason}` : pod.phase }),
        el('div', { className: 'name', textContent: pod.name }),
        el('div', { className: 'detail', textContent: summary(pod) }),
      );
      li.dataset.pod = pod.name;
      li.dataset.phase = pod.phase;
      li.addEventListener('click', () => select(pod.name));
      return li;
    }),
  );
  $('no-pods').hidden = state.pods.length > 0;
}

// ------------------------------------------------------------ the figure

function message(text) {
  $('pod-message').hidden = !text;
  $('pod-message').textContent = text || '';
}

async function refreshFigure() {
  const name = state.selected;
  if (!name) return;
  const pod = state.pods.find((p) => p.name === name);
  if (!pod) {
    showFigure('');
    message(`pod ${name} is gone`);
    closeProcess();
    return;
  }
  let res;
  try {
    res = await fetch(api('figure.svg'));
  } catch {
    return; // The server went away: the event stream says so.
  }
  if (name !== state.selected) return;
  const text = await res.text();
  if (res.ok) {
    message('');
    showFigure(text);
  } else {
    showFigure('');
    message(text.trim());
  }
}

function showFigure(svg) {
  if (svg === state.figure) return;
  state.figure = svg;
  $('figure').innerHTML = svg;
  markProcess();
}

function markProcess() {
  for (const g of document.querySelectorAll('#figure g.process')) {
    g.classList.toggle('selected', state.process !== null && g.dataset.pid === String(state.process.pid));
  }
}

function select(name) {
  if (state.selected !== name) closeProcess();
  state.selected = name;
  history.replaceState(null, '', `#${encodeURIComponent(name)}`);
  $('hint').hidden = true;
  $('pod-name').hidden = false;
  $('pod-name').textContent = `pod/${name}`;
  state.figure = null;
  renderPods();
  refreshFigure();
}

// ------------------------------------------------------------ a process

function closeProcess() {
  state.process = null;
  if (state.logs) state.logs.close();
  state.logs = null;
  $('process').hidden = true;
}

async function explained(name) {
  if (!state.explained.has(name)) {
    const res = await fetch(api('explain'));
    if (!res.ok) throw new Error((await res.text()).trim());
    state.explained.set(name, await res.json());
  }
  return state.explained.get(name);
}

function findProcess(view, pid) {
  if (view.pause.hostPid === pid) return { who: 'pause', process: view.pause };
  for (const c of view.containers) {
    const p = c.processes.find((x) => x.hostPid === pid);
    if (p) return { who: c.name, process: p, main: c.processes[0] === p };
  }
  return null;
}

async function showProcess(pid, container) {
  const name = state.selected;
  closeProcess();
  state.process = { pid, container };
  markProcess();
  $('process').hidden = false;
  $('process-title').textContent = `${container}: pid ${pid}`;
  $('steps').textContent = 'reading…';
  $('namespaces').tBodies[0].replaceChildren();

  const res = await fetch(api('inspect'));
  if (name !== state.selected || state.process?.pid !== pid) return;
  if (!res.ok) {
    $('steps').textContent = (await res.text()).trim();
    return;
  }
  const view = await res.json();
  const found = findProcess(view, pid);
  if (!found) {
    $('steps').textContent = `pid ${pid} is no longer in the pod`;
    return;
  }
  const p = found.process;
  $('process-title').textContent = `${found.who}: ${p.command} (pid ${p.hostPid} on the host, ${p.podPid} in the pod)`;
  const rows = KINDS.filter((k) => p.namespaces[k] !== null).map((k) => {
    const shared = p.sharedWith[k];
    const words = shared === 'host' ? "the host's" : shared === 'pause' ? "pause's (the pod's)" : shared === 'main' ? "its container's main process's" : 'its own';
    const tr = el('tr', {}, el('td', { textContent: k }), el('td', { className: 'inode', textContent: String(p.namespaces[k]) }), el('td', { textContent: words }));
    tr.dataset.kind = k;
    return tr;
  });
  $('namespaces').tBodies[0].replaceChildren(...rows);

  try {
    const steps = (await explained(name)).find((s) => s.name === found.who);
    const forked = found.who !== 'pause' && !found.main ? `pid ${p.hostPid} was started inside the container, after these steps made its main process:\n\n` : '';
    $('steps').textContent = steps ? forked + steps.text : `no plan for ${found.who}`;
  } catch (err) {
    $('steps').textContent = String(err.message || err);
  }
  if (found.who !== 'pause') followLogs(found.who);
}

function followLogs(container) {
  const pre = $('logs');
  pre.hidden = false;
  $('logs-title').hidden = false;
  $('logs-title').textContent = `Logs of ${container}, following`;
  pre.textContent = '';
  const source = new EventSource(`${api('logs')}?container=${encodeURIComponent(container)}`);
  state.logs = source;
  const append = (text) => {
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(`${text}\n`);
    while (pre.childNodes.length > MAX_LOG_LINES) pre.firstChild.remove();
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  };
  source.addEventListener('line', (e) => append(JSON.parse(e.data).line.text));
  source.addEventListener('instance', (e) => {
    const n = JSON.parse(e.data).restart;
    if (n > 0) append(`--- restart ${n} ---`);
  });
  source.addEventListener('end', (e) => {
    append(`--- ${JSON.parse(e.data).why} ---`);
    source.close();
  });
}

// ------------------------------------------------------------ wiring

$('figure').addEventListener('click', (e) => {
  const g = e.target.closest('g.process[data-pid]');
  if (g) showProcess(Number(g.dataset.pid), g.dataset.container);
});

function connect() {
  const events = new EventSource('events');
  events.addEventListener('open', () => {
    $('status').textContent = 'live';
    $('status').className = 'status live';
  });
  events.addEventListener('error', () => {
    $('status').textContent = 'disconnected, retrying';
    $('status').className = 'status down';
  });
  events.addEventListener('pods', (e) => {
    state.pods = JSON.parse(e.data);
    for (const name of state.explained.keys()) if (!state.pods.some((p) => p.name === name)) state.explained.delete(name);
    renderPods();
    refreshFigure();
  });
  events.addEventListener('failure', (e) => message(JSON.parse(e.data).message));
}

// Processes come and go without the state files changing: the figure is read again now and then.
setInterval(() => {
  if (!document.hidden) refreshFigure();
}, 2000);

connect();
if (state.selected) select(state.selected);

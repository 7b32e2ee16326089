/**
 * The web console at `/admin` (ActiveMQ's address for it): one page, no build step, that reads
 * `/api/status` and the destination API. Every value from the broker goes into the page through
 * `textContent`, never as HTML, since queue names and message bodies come from clients.
 */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>QuorumMQ console</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f4f4f4; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  button { margin-right: .25rem; }
  #status { padding: .5rem .75rem; background: #f4f4f4; border-radius: 4px; }
  #status.bad { background: #fde8e8; }
  #notice { min-height: 1.4em; margin: .5rem 0; }
  #notice.error { color: #b00020; }
  pre { margin: 0; white-space: pre-wrap; word-break: break-all; max-height: 8em; overflow: auto; }
  form > * { margin-right: .5rem; }
  textarea { width: 100%; height: 5em; margin-top: .5rem; }
</style>
</head>
<body>
<h1>QuorumMQ console</h1>
<div id="status">loading…</div>
<div id="notice"></div>

<h2>Destinations</h2>
<table>
  <thead><tr><th>kind</th><th>name</th><th>pending</th><th>consumers</th><th>enqueued</th><th>dequeued</th><th>in flight</th><th></th></tr></thead>
  <tbody id="destinations"></tbody>
</table>

<h2>Connections</h2>
<table>
  <thead><tr><th>protocol</th><th>remote address</th><th>client id</th><th>user</th><th>connected</th><th>consumers</th></tr></thead>
  <tbody id="connections"></tbody>
</table>

<h2>Scheduled</h2>
<table>
  <thead><tr><th>job id</th><th>next delivery</th><th>destination</th><th>period</th><th>repeats left</th><th></th></tr></thead>
  <tbody id="scheduled"></tbody>
</table>

<h2>Send a message</h2>
<form id="send">
  <select id="send-kind"><option value="queues">queue</option><option value="topics">topic</option></select>
  <input id="send-name" placeholder="destination name" required>
  <label><input type="checkbox" id="send-persistent" checked> persistent</label>
  <button type="submit">Send</button>
  <textarea id="send-body" placeholder="message body (text)"></textarea>
</form>

<h2 id="browse-title" hidden></h2>
<table id="browse" hidden>
  <thead><tr><th>message id</th><th>priority</th><th>redelivered</th><th>timestamp</th><th>headers</th><th>body</th><th></th></tr></thead>
  <tbody></tbody>
</table>

<script>
'use strict';
const $ = (id) => document.getElementById(id);
function cell(row, text, cls) {
  const td = document.createElement('td');
  td.textContent = String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}
function notice(text, isError) {
  $('notice').textContent = text;
  $('notice').className = isError ? 'error' : '';
}
async function call(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error ? json.error.code + ' ' + json.error.message : res.status + ' ' + res.statusText);
  return json;
}
const enc = encodeURIComponent;

async function refreshStatus() {
  try {
    const s = await call('GET', '/api/status');
    const parts = ['broker ' + s.brokerName, 'role ' + s.role, 'mode ' + s.mode, 'store ' + s.store];
    if (s.epoch !== undefined && s.epoch !== null) parts.push('epoch ' + s.epoch);
    if (s.reason) parts.push('why: ' + s.reason);
    $('status').textContent = parts.join(' · ');
    $('status').className = s.role === 'master' ? '' : 'bad';
  } catch (e) {
    $('status').textContent = 'status unavailable: ' + e.message;
    $('status').className = 'bad';
  }
}

async function refreshDestinations() {
  let list;
  try {
    list = (await call('GET', '/api/destinations')).destinations;
  } catch (e) {
    $('destinations').replaceChildren();
    notice(e.message, true);
    return;
  }
  list.sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1));
  const rows = list.map((d) => {
    const tr = document.createElement('tr');
    cell(tr, d.kind);
    cell(tr, d.name);
    cell(tr, d.kind === 'queue' ? d.depth : '', 'num');
    cell(tr, d.consumerCount, 'num');
    cell(tr, d.enqueueCount, 'num');
    cell(tr, d.dequeueCount, 'num');
    cell(tr, d.kind === 'queue' ? d.inflight : '', 'num');
    const actions = cell(tr, '');
    const plural = d.kind === 'queue' ? 'queues' : 'topics';
    const button = (label, fn) => {
      const b = document.createElement('button');
      b.textContent = label;
      b.onclick = () => fn().then(refresh, (e) => notice(e.message, true));
      actions.appendChild(b);
    };
    if (d.kind === 'queue') {
      button('Browse', () => browse(d.name));
      if (/DLQ/.test(d.name)) {
        button('Retry all', async () => {
          const r = await call('POST', '/api/queues/' + enc(d.name) + '/retry');
          notice('sent ' + r.retried + ' message(s) back to where they came from');
        });
      }
      button('Purge', async () => {
        if (!confirm('Remove every waiting message from queue ' + d.name + '?')) return;
        const r = await call('POST', '/api/queues/' + enc(d.name) + '/purge');
        notice('purged ' + r.purged + ' message(s) from ' + d.name);
      });
    }
    button('Delete', async () => {
      if (!confirm('Delete ' + d.kind + ' ' + d.name + ' and all its messages?')) return;
      await call('DELETE', '/api/' + plural + '/' + enc(d.name));
      notice('deleted ' + d.kind + ' ' + d.name);
    });
    return tr;
  });
  $('destinations').replaceChildren(...rows);
}

async function browse(name) {
  const r = await call('GET', '/api/queues/' + enc(name) + '/messages?limit=100');
  $('browse-title').textContent = 'Queue ' + name + ': first ' + r.messages.length + ' waiting message(s)';
  const rows = r.messages.map((m) => {
    const tr = document.createElement('tr');
    cell(tr, m.messageId);
    cell(tr, m.priority, 'num');
    cell(tr, m.redeliveryCount, 'num');
    cell(tr, new Date(m.timestamp).toISOString());
    const h = cell(tr, '');
    const hp = document.createElement('pre');
    hp.textContent = Object.entries(m.headers).map(([k, v]) => k + ': ' + v).join('\\n');
    h.appendChild(hp);
    const b = cell(tr, '');
    const bp = document.createElement('pre');
    bp.textContent = m.bodyEncoding === 'utf8' ? m.body : '(' + m.size + ' bytes, base64) ' + m.body;
    b.appendChild(bp);
    const actions = cell(tr, '');
    const path = '/api/queues/' + enc(name) + '/messages/' + enc(m.messageId);
    const button = (label, fn) => {
      const el = document.createElement('button');
      el.textContent = label;
      el.onclick = () => fn().then(() => Promise.all([refresh(), browse(name)]), (e) => notice(e.message, true));
      actions.appendChild(el);
    };
    if (m.originalDestination) {
      button('Retry', async () => {
        const r = await call('POST', path + '/retry');
        notice('moved ' + m.messageId + ' back to ' + r.movedTo);
      });
    }
    button('Move', async () => {
      const to = prompt('Move ' + m.messageId + ' to which queue?');
      if (!to) return;
      const r = await call('POST', path + '/move', { queue: to });
      notice('moved ' + m.messageId + ' to ' + r.movedTo);
    });
    button('Delete', async () => {
      if (!confirm('Delete message ' + m.messageId + '?')) return;
      await call('DELETE', path);
      notice('deleted ' + m.messageId);
    });
    return tr;
  });
  $('browse').querySelector('tbody').replaceChildren(...rows);
  $('browse-title').hidden = false;
  $('browse').hidden = false;
}

$('send').onsubmit = (ev) => {
  ev.preventDefault();
  const kind = $('send-kind').value;
  const name = $('send-name').value.trim();
  call('POST', '/api/' + kind + '/' + enc(name) + '/messages', { body: $('send-body').value, persistent: $('send-persistent').checked })
    .then((r) => { notice('sent ' + r.messageId + ' to ' + name); return refresh(); }, (e) => notice(e.message, true));
};

async function refreshConnections() {
  let list;
  try {
    list = (await call('GET', '/api/connections')).connections;
  } catch (e) {
    $('connections').replaceChildren();
    return;
  }
  const rows = list.map((c) => {
    const tr = document.createElement('tr');
    cell(tr, c.protocol);
    cell(tr, c.remoteAddress);
    cell(tr, c.clientId || '');
    cell(tr, c.user || '');
    cell(tr, new Date(c.connectedAt).toISOString());
    const subs = cell(tr, '');
    const pre = document.createElement('pre');
    pre.textContent = c.consumers.map((s) => s.destination + ' (' + s.ackMode + ', prefetch ' + s.prefetch + ', ' + s.inflight + ' in flight' + (s.selector ? ', selector ' + s.selector : '') + ')').join('\\n');
    subs.appendChild(pre);
    return tr;
  });
  $('connections').replaceChildren(...rows);
}

async function refreshScheduled() {
  let list;
  try {
    list = (await call('GET', '/api/scheduled?limit=100')).scheduled;
  } catch (e) {
    $('scheduled').replaceChildren();
    return;
  }
  const rows = list.map((j) => {
    const tr = document.createElement('tr');
    cell(tr, j.jobId);
    cell(tr, new Date(j.nextAt).toISOString());
    cell(tr, j.destination);
    cell(tr, j.periodMs ? j.periodMs + ' ms' : '', 'num');
    cell(tr, j.repeatsLeft, 'num');
    const actions = cell(tr, '');
    const b = document.createElement('button');
    b.textContent = 'Delete';
    b.onclick = () => {
      if (!confirm('Cancel scheduled message ' + j.jobId + '?')) return;
      call('DELETE', '/api/scheduled/' + enc(j.jobId)).then(() => { notice('cancelled ' + j.jobId); return refresh(); }, (e) => notice(e.message, true));
    };
    actions.appendChild(b);
    return tr;
  });
  $('scheduled').replaceChildren(...rows);
}

function refresh() {
  return Promise.all([refreshStatus(), refreshDestinations(), refreshConnections(), refreshScheduled()]);
}
refresh();
setInterval(refresh, 3000);
</script>
</body>
</html>
`;

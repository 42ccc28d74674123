// wirelab export: the page's behaviour. The packets are in the JSON element #data, in the
// shape of `wirelab dissect --view json` plus bytes, explanations and layer colours.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('data').textContent);
  var packets = data.packets;
  var list = document.getElementById('packets');
  var layersEl = document.getElementById('layers');
  var hexEl = document.getElementById('hex');
  var title = document.getElementById('detail-title');
  var current = -1;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  packets.forEach(function (p, i) {
    var li = el('li', 'pkt', p.line);
    li.id = 'pkt-' + i;
    li.dataset.packet = i;
    li.addEventListener('click', function () { select(i); });
    list.appendChild(li);
  });
  Array.prototype.forEach.call(document.querySelectorAll('g.arrow'), function (g) {
    g.addEventListener('click', function () { select(+g.dataset.packet); });
  });

  function bytesOf(p) {
    var h = p.bytes, out = [];
    for (var i = 0; i + 1 < h.length; i += 2) out.push(parseInt(h.substr(i, 2), 16));
    return out;
  }

  // Light up the bytes from..to (end excluded) in the hex dump.
  function highlight(from, to) {
    Array.prototype.forEach.call(hexEl.querySelectorAll('.b.hl'), function (b) { b.classList.remove('hl'); });
    for (var i = from; i < to; i++) {
      var b = document.getElementById('byte-' + i);
      if (b) b.classList.add('hl');
    }
  }

  function renderLayers(p) {
    layersEl.textContent = '';
    p.layers.forEach(function (l) {
      var box = el('div', 'layer');
      box.style.setProperty('--c', l.color || '#57534e');
      box.dataset.protocol = l.protocol;
      var head = el('div', 'lhead');
      head.appendChild(el('span', 'lname', l.name));
      head.appendChild(el('span', 'osi', 'OSI L' + l.osi + ' ' + l.osi_name));
      head.appendChild(el('span', 'tcpip', 'TCP/IP: ' + l.tcpip));
      var a = l.range[0], b = l.range[1];
      head.appendChild(el('span', 'range', b > a ? 'bytes ' + a + '–' + (b - 1) : 'no bytes of its own'));
      head.addEventListener('click', function () { highlight(a, b); });
      box.appendChild(head);
      if (l.summary) box.appendChild(el('div', 'lsum', l.summary));
      var ul = el('ul', 'fields');
      l.fields.forEach(function (f) {
        var li = el('li');
        li.style.paddingLeft = (f.depth || 0) * 1.4 + 'em';
        li.appendChild(el('span', 'flabel', f.label));
        li.appendChild(el('span', 'fvalue', f.display !== undefined ? f.display : f.value));
        li.appendChild(el('code', 'fname', f.name));
        var why = data.explain[f.name];
        if (why) li.appendChild(el('div', 'explain', why));
        li.addEventListener('click', function (ev) {
          ev.stopPropagation();
          Array.prototype.forEach.call(layersEl.querySelectorAll('li.hl'), function (x) { x.classList.remove('hl'); });
          li.classList.add('hl');
          highlight(f.range[0], f.range[1]);
        });
        ul.appendChild(li);
      });
      box.appendChild(ul);
      layersEl.appendChild(box);
    });
    p.problems.forEach(function (pr) {
      layersEl.appendChild(el('div', 'problem',
        'Problem (' + pr.kind + ', ' + pr.protocol + ', byte ' + pr.at + '): ' + pr.message));
    });
  }

  function renderHex(p) {
    var bytes = bytesOf(p);
    // Each byte takes the colour of the innermost layer that covers it.
    var colour = new Array(bytes.length), owner = new Array(bytes.length);
    p.layers.forEach(function (l) {
      if (l.protocol === 'frame') return;
      for (var i = l.range[0]; i < Math.min(l.range[1], bytes.length); i++) {
        colour[i] = l.color; owner[i] = l.name;
      }
    });
    hexEl.textContent = '';
    for (var row = 0; row < bytes.length; row += 16) {
      hexEl.appendChild(el('span', 'off', ('000' + row.toString(16)).slice(-4) + '  '));
      var ascii = '';
      for (var i = row; i < row + 16; i++) {
        if (i < bytes.length) {
          var s = el('span', 'b', ('0' + bytes[i].toString(16)).slice(-2));
          s.id = 'byte-' + i;
          s.style.color = colour[i] || '#78716c';
          s.title = 'byte ' + i + (owner[i] ? ' · ' + owner[i] : ' · no layer');
          hexEl.appendChild(s);
          hexEl.appendChild(document.createTextNode(i % 16 === 7 ? '  ' : ' '));
          ascii += bytes[i] >= 0x20 && bytes[i] < 0x7f ? String.fromCharCode(bytes[i]) : '.';
        } else {
          hexEl.appendChild(document.createTextNode(i % 16 === 7 ? '    ' : '   '));
        }
      }
      hexEl.appendChild(el('span', 'ascii', ' ' + ascii));
      hexEl.appendChild(document.createTextNode('\n'));
    }
    var legend = el('div', 'legend');
    p.layers.forEach(function (l) {
      if (l.protocol === 'frame' || l.range[1] <= l.range[0]) return;
      var s = el('span', null, '■ ' + l.name);
      s.style.color = l.color;
      legend.appendChild(s);
    });
    hexEl.appendChild(legend);
  }

  function select(i) {
    if (i < 0 || i >= packets.length) return;
    current = i;
    var p = packets[i];
    Array.prototype.forEach.call(document.querySelectorAll('.sel'), function (e) { e.classList.remove('sel'); });
    var li = document.getElementById('pkt-' + i);
    li.classList.add('sel');
    li.scrollIntoView({ block: 'nearest' });
    var g = document.getElementById('wl-seg-' + i);
    if (g) {
      g.classList.add('sel');
      if (g.scrollIntoView) g.scrollIntoView({ block: 'nearest' });
    }
    title.textContent = 'Packet ' + p.number + ' · ' + p.cap_len + ' bytes · ' + p.protocols;
    renderLayers(p);
    renderHex(p);
    if (history.replaceState) history.replaceState(null, '', '#packet-' + p.number);
  }

  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var step = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1, PageDown: 10, PageUp: -10 }[e.key];
    if (step !== undefined) {
      select(Math.max(0, Math.min(packets.length - 1, current < 0 ? 0 : current + step)));
      e.preventDefault();
    } else if (e.key === 'Home') {
      select(0); e.preventDefault();
    } else if (e.key === 'End') {
      select(packets.length - 1); e.preventDefault();
    }
  });

  var m = /^#packet-(\d+)$/.exec(location.hash);
  if (m) {
    for (var i = 0; i < packets.length; i++) if (packets[i].number === +m[1]) { select(i); break; }
  }
})();

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
    var per = bytesPerRow();
    for (var row = 0; row < bytes.length; row += per) {
      hexEl.appendChild(el('span', 'off', ('000' + row.toString(16)).slice(-4) + '  '));
      var ascii = '';
      for (var i = row; i < row + per; i++) {
        if (i < bytes.length) {
          var s = el('span', 'b', ('0' + bytes[i].toString(16)).slice(-2));
          s.id = 'byte-' + i;
          s.style.color = colour[i] || '#78716c';
          s.title = 'byte ' + i + (owner[i] ? ' · ' + owner[i] : ' · no layer');
          hexEl.appendChild(s);
          hexEl.appendChild(document.createTextNode(per === 16 && i % 16 === 7 ? '  ' : ' '));
          ascii += bytes[i] >= 0x20 && bytes[i] < 0x7f ? String.fromCharCode(bytes[i]) : '.';
        } else {
          hexEl.appendChild(document.createTextNode(per === 16 && i % 16 === 7 ? '    ' : '   '));
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

  // Sixteen bytes a row (as Wireshark) when they fit beside the fields, else eight, else four
  // (large text on a projector): the bytes stay beside the fields, which keep at least 12rem
  // (see page.css), never below them or cut off.
  function bytesPerRow() {
    var detail = document.getElementById('detail');
    var ch = document.getElementById('measure').getBoundingClientRect().width || 9;
    var rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    var stacked = getComputedStyle(document.getElementById('detail-body')).gridTemplateColumns.split(' ').length < 2;
    var room = stacked ? detail.clientWidth : detail.clientWidth - 13 * rem;
    var per = [16, 8, 4];
    for (var i = 0; i < per.length; i++) {
      // offset, the bytes, the gap between the halves, the text column, the padding
      if ((6 + per[i] * 3 + 1 + per[i] + 4) * ch <= room) return per[i];
    }
    return 4;
  }

  // The text size: A− and A+ (or the - and + keys) set the root font size, which every size
  // on the page is measured in. Remembered in this browser when it allows.
  var sizes = [12, 14, 16, 18, 20, 22, 24, 28, 32];
  var size = 16;
  try {
    var saved = +localStorage.getItem('wirelab-export-font');
    if (sizes.indexOf(saved) >= 0) size = saved;
  } catch (e) { /* storage off: the default size */ }
  function setSize(s) {
    size = s;
    document.documentElement.style.fontSize = s + 'px';
    document.getElementById('font-size').textContent = s + ' px';
    document.getElementById('font-down').disabled = s === sizes[0];
    document.getElementById('font-up').disabled = s === sizes[sizes.length - 1];
    try { localStorage.setItem('wirelab-export-font', String(s)); } catch (e) { /* ignore */ }
    if (current >= 0) renderHex(packets[current]);
  }
  function stepSize(d) {
    var i = sizes.indexOf(size) + d;
    if (i >= 0 && i < sizes.length) setSize(sizes[i]);
  }
  document.getElementById('font-down').addEventListener('click', function () { stepSize(-1); });
  document.getElementById('font-up').addEventListener('click', function () { stepSize(1); });
  setSize(size);
  window.addEventListener('resize', function () { if (current >= 0) renderHex(packets[current]); });

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
    if (e.key === '+' || e.key === '=') {
      stepSize(1); e.preventDefault(); return;
    } else if (e.key === '-') {
      stepSize(-1); e.preventDefault(); return;
    }
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

// The page's behaviour: filters hide rows; a cell's button shows its
// detail in the panel. Everything the page shows is in the document
// already: the script fetches nothing.
(function () {
  'use strict';
  var rows = Array.prototype.slice.call(document.querySelectorAll('#matrix tbody tr'));
  var area = document.getElementById('f-area');
  var must = document.getElementById('f-must');
  var should = document.getElementById('f-should');
  var unexpected = document.getElementById('f-unexpected');
  var shown = document.getElementById('shown');
  var panel = document.getElementById('panel');
  var open = null;
  var opener = null;

  function levelShown(level) {
    if (level === 'MUST') { return must.checked; }
    if (level === 'SHOULD') { return should.checked; }
    return true;
  }

  function applyFilters() {
    var n = 0;
    rows.forEach(function (row) {
      var ok = (!area.value || row.dataset.area === area.value) &&
        levelShown(row.dataset.level) &&
        (!unexpected.checked || row.dataset.unexpected === 'true');
      row.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = n + ' of ' + rows.length + ' rules shown';
  }

  function showDetail(button) {
    var section = document.getElementById(button.dataset.detail);
    if (!section) { return; }
    if (open) { open.hidden = true; }
    if (opener) { opener.parentNode.classList.remove('selected'); opener.setAttribute('aria-expanded', 'false'); }
    section.hidden = false;
    panel.hidden = false;
    open = section;
    opener = button;
    button.parentNode.classList.add('selected');
    button.setAttribute('aria-expanded', 'true');
    panel.scrollTop = 0;
    panel.focus();
  }

  function closeDetail() {
    if (open) { open.hidden = true; }
    panel.hidden = true;
    if (opener) {
      opener.parentNode.classList.remove('selected');
      opener.setAttribute('aria-expanded', 'false');
      opener.focus();
    }
    open = null;
    opener = null;
  }

  [area, must, should, unexpected].forEach(function (el) {
    el.addEventListener('change', applyFilters);
  });
  document.getElementById('matrix').addEventListener('click', function (ev) {
    var button = ev.target.closest('button[data-detail]');
    if (button) { showDetail(button); }
  });
  document.getElementById('panel-close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && open) { closeDetail(); }
  });
  applyFilters();
}());

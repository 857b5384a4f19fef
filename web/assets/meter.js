// Level meters: a row with a name, a dB readout and a bar, as the pages
// show each host (and the channel page the microphone).

/** The lowest level the bar shows, dBFS. */
const FLOOR_DB = -60;
/** How fast the bar falls, dB per frame. */
const FALL_DB = 1.5;

/** Returns a new <li> of class className with the meter's parts: .uid,
 * .db and .meter > .fill. */
export function meterRow(className) {
  const li = document.createElement('li');
  li.className = className;
  li.innerHTML = '<span class="uid"></span><span class="db"></span>' +
    `<span class="meter" role="meter" aria-valuemin="${FLOOR_DB}" aria-valuemax="0"><span class="fill"></span></span>`;
  return li;
}

/** Shows level db (dBFS, -Infinity for silence) on the meter inside el:
 * the bar rises at once and falls FALL_DB a frame. */
export function showLevel(el, db) {
  const shown = Math.max(db, Number(el.dataset.shown ?? -Infinity) - FALL_DB);
  el.dataset.shown = String(shown);
  const frac = Number.isFinite(shown) ? Math.min(1, Math.max(0, (shown - FLOOR_DB) / -FLOOR_DB)) : 0;
  el.querySelector('.fill').style.clipPath = `inset(0 ${(100 - frac * 100).toFixed(1)}% 0 0)`;
  el.querySelector('.meter').setAttribute('aria-valuenow', Number.isFinite(db) ? Math.max(FLOOR_DB, db).toFixed(0) : String(FLOOR_DB));
  el.querySelector('.db').textContent = Number.isFinite(db) && db > -90 ? `${db.toFixed(0)} dB` : '—';
}
